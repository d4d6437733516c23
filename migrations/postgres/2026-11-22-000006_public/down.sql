DROP TABLE callback_requests;
DROP TABLE ratings;
DROP TABLE public_access;
