//! Integration tests: each test starts a real server on a fresh database and talks to it over
//! HTTP, as a client would. SQLite by default; a fresh PostgreSQL database per test when
//! `DATABASE_URL` points at a PostgreSQL server, dropped again when the test ends.

mod helpers;

mod auth;
mod board;
mod concurrency;
mod demo;
mod export;
mod external_ids;
mod faults;
mod flow;
mod generate;
mod harness;
mod http;
mod import;
mod limits;
mod live;
mod next_steps;
mod over_http;
mod pagination;
mod pipeline;
mod pipeline_asof;
mod pipeline_outcomes;
mod pipeline_trend;
mod risk;
mod roles;
mod schema;
mod share;
mod tenancy;
mod validation;
mod webhooks;
