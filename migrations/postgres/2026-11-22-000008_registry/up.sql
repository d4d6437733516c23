-- Registry feeds (issue 5): contacts get the key the client's feeds know them
-- by and custom attributes (card type, benefits, points balance…); and the
-- directory of points of service the operator searches and mails to callers.

ALTER TABLE contacts ADD COLUMN external_key TEXT;
CREATE UNIQUE INDEX contacts_external_key ON contacts(external_key);

CREATE TABLE contact_attributes (
    id BIGSERIAL PRIMARY KEY,
    contact_id BIGINT NOT NULL REFERENCES contacts(id),
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    UNIQUE (contact_id, name)
);

CREATE TABLE service_points (
    id BIGSERIAL PRIMARY KEY,
    external_key TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    service TEXT NOT NULL DEFAULT '',
    region TEXT NOT NULL DEFAULT '',
    province TEXT NOT NULL DEFAULT '',
    province_code TEXT NOT NULL DEFAULT '',
    city TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL DEFAULT '',
    postcode TEXT NOT NULL DEFAULT '',
    opening_hours TEXT NOT NULL DEFAULT '',
    phone TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    active BOOLEAN NOT NULL DEFAULT TRUE,
    region_key TEXT NOT NULL DEFAULT '',
    province_key TEXT NOT NULL DEFAULT '',
    city_key TEXT NOT NULL DEFAULT '',
    service_key TEXT NOT NULL DEFAULT '',
    search_key TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX service_points_place ON service_points(region_key, province_key, city_key);
CREATE INDEX service_points_province_code ON service_points(province_code);
