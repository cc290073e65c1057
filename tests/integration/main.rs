//! proxyd integration tests: one test binary (link time on small CI machines),
//! real `proxyd` processes, real sockets on 127.0.0.1, std-only clients and
//! upstreams. See `common/` for the harness.

mod common;

mod acme;
mod bodies;
mod config_files;
mod desync;
mod errors;
mod forwarded;
mod framing;
mod h2;
mod harness;
mod health;
mod kv_etcd;
mod kv_redis;
mod kv_sentinel;
mod kv_store;
mod kv_tls;
mod lifecycle;
mod limits;
mod middlewares;
mod middlewares_all;
mod middlewares_auth;
mod middlewares_circuit_breaker;
mod middlewares_compress;
mod middlewares_content_type;
mod middlewares_digest_auth;
mod middlewares_errors;
mod middlewares_forward_auth;
mod middlewares_headers;
mod middlewares_limits;
mod middlewares_pass_tls_client_cert;
mod middlewares_redirect_ip;
mod middlewares_retry;
mod middlewares_state;
mod observe;
mod parking;
mod pool;
mod reload;
mod request_body_limit;
mod routing;
mod services_failover;
mod services_mirroring;
mod services_passive;
mod services_weighted;
mod smuggling;
mod sticky;
mod strategies;
mod tls;
mod upgrade;
mod upstream_faults;
mod upstream_tls;
mod wire;
