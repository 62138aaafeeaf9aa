//! End-to-end tests against the real PostgreSQL and RabbitMQ on loopback. One test
//! binary (linking is the slow part of a build); modules by concern.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod admin_pages;
mod browser;
mod cart;
mod catalog;
mod checkout;
mod checkout_concurrency;
mod checkout_confirmation;
mod checkout_recovery;
mod checkout_store_view;
mod conformance;
mod csv;
mod distributed;
mod email;
mod events;
mod identity;
mod identity_account;
mod identity_sessions;
mod inventory;
mod media_s3;
mod ops;
mod products;
mod promotions;
mod refusals;
mod search;
mod seed;
mod shipping;
mod stripe;
mod support;
mod tax;
mod vendors;
mod web;
