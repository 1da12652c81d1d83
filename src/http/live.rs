//! GraphQL subscriptions over WebSocket at `/graphql` (SPEC §9), protocol
//! `graphql-transport-ws` (the `graphql-ws` client's; the older `graphql-ws` subprotocol is
//! spoken too).
//!
//! Browsers cannot set headers on a WebSocket, so the upgrade needs none: the bearer token
//! travels in `connection_init`'s payload (`{"authorization": "Bearer <JWT>"}`). A missing or
//! bad token closes the socket with 4401; so does the token expiring while the socket is
//! open. A client that never says `connection_init` is closed with 4408 after
//! [`INIT_WAIT`]. When this process's feed of change events was interrupted (PostgreSQL's
//! listener lost its connection: events committed meanwhile never arrived), every socket is
//! closed with 1012 once the feed is back, so that clients reconnect and re-read rather than
//! miss changes without knowing. Past the handshake, async-graphql speaks the protocol.

use std::time::{Duration, SystemTime};

use async_graphql::Data;
use async_graphql::http::{ALL_WEBSOCKET_PROTOCOLS, WebSocketProtocols, WsMessage};
use axum::extract::FromRequestParts;
use axum::extract::Request;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};

use super::AppState;
use crate::domain::{AppError, TenantCtx};
use crate::graphql::RequestScope;

/// How long a socket may stay open without `connection_init`.
const INIT_WAIT: Duration = Duration::from_secs(10);

/// Bytes buffered per socket for reading, and before a write is flushed.
const SOCKET_BUFFER: usize = 1 << 10;
/// The largest message a client may send (a `subscribe` with its document).
const MAX_CLIENT_MESSAGE: usize = 256 << 10;

/// Close codes of the `graphql-transport-ws` protocol.
const UNAUTHORIZED: u16 = 4401;
const INIT_TIMEOUT: u16 = 4408;
/// WebSocket's "service restart": reconnect (the `graphql-ws` client does, by itself).
const SERVICE_RESTART: u16 = 1012;

/// Whether `request` asks to become a WebSocket.
pub fn is_upgrade(request: &Request) -> bool {
    request
        .headers()
        .get(axum::http::header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// Answers the upgrade and serves the socket.
pub async fn upgrade(state: AppState, request: Request) -> Response {
    let (mut parts, _) = request.into_parts();
    // The first subprotocol offered that we speak (`graphql-transport-ws` or `graphql-ws`).
    let protocol = parts
        .headers
        .get(axum::http::header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|value| value.to_str().ok())
        .and_then(|offered| {
            offered
                .split(',')
                .find_map(|p| p.trim().parse::<WebSocketProtocols>().ok())
        });
    let Some(protocol) = protocol else {
        let refusal = "offer the graphql-transport-ws subprotocol (Sec-WebSocket-Protocol)";
        return (axum::http::StatusCode::BAD_REQUEST, refusal).into_response();
    };
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(upgrade) => upgrade,
        Err(refused) => return refused.into_response(),
    };
    // Small buffers (tungstenite's default is 128 KiB each way per socket): a board's socket
    // mostly idles, and one process holds thousands of them. Client messages are small too.
    upgrade
        .read_buffer_size(SOCKET_BUFFER)
        .write_buffer_size(SOCKET_BUFFER)
        .max_message_size(MAX_CLIENT_MESSAGE)
        .max_frame_size(MAX_CLIENT_MESSAGE)
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| serve(state, socket, protocol))
}

async fn serve(state: AppState, socket: WebSocket, protocol: WebSocketProtocols) {
    let (mut sink, mut incoming) = socket.split();
    let close = |code: u16, reason: &str| {
        Message::Close(Some(CloseFrame {
            code,
            reason: reason.to_owned().into(),
        }))
    };
    // The handshake is ours: the token decides whether the protocol starts at all.
    let init = match tokio::time::timeout(INIT_WAIT, first_text(&mut incoming)).await {
        Ok(Some(text)) => text,
        Ok(None) => return,
        Err(_) => {
            let _ = sink
                .send(close(INIT_TIMEOUT, "Connection initialisation timeout"))
                .await;
            return;
        }
    };
    let (ctx, until) = match authenticate(&state, &init) {
        Ok(verified) => verified,
        Err(err) => {
            let _ = sink.send(close(UNAUTHORIZED, &format!("Unauthorized: {err}"))).await;
            return;
        }
    };
    metrics::gauge!("dealgraph_live_connections").increment(1.0);
    let mut interrupted = crate::service::live::interruptions(&state.services);
    let scope = RequestScope::new(ctx, state.services.clone());
    let input = Box::pin(
        futures_util::stream::once(async move { init.into_bytes() }).chain(incoming.filter_map(|message| async move {
            match message {
                Ok(Message::Text(text)) => Some(text.as_str().as_bytes().to_vec()),
                Ok(Message::Binary(bytes)) => Some(bytes.to_vec()),
                _ => None,
            }
        })),
    );
    let mut outgoing = async_graphql::http::WebSocket::new(state.schema.clone(), input, protocol)
        .on_connection_init(move |_| async move {
            let mut data = Data::default();
            data.insert(scope);
            Ok(data)
        })
        .map(|message| match message {
            WsMessage::Text(text) => Message::Text(text.into()),
            WsMessage::Close(code, reason) => close(code, &reason),
        });
    let expiry = tokio::time::sleep(until.duration_since(SystemTime::now()).unwrap_or_default());
    tokio::pin!(expiry);
    loop {
        tokio::select! {
            message = outgoing.next() => match message {
                Some(message) => {
                    if sink.send(message).await.is_err() {
                        break;
                    }
                }
                None => break,
            },
            () = &mut expiry => {
                let _ = sink.send(close(UNAUTHORIZED, "Unauthorized: the token expired")).await;
                break;
            }
            // Events may have been missed: the client reconnects, subscribes again and re-reads
            // rather than go on without knowing.
            Ok(()) = interrupted.changed() => {
                let reason = "the live feed was interrupted; reconnect, and re-read what you show";
                let _ = sink.send(close(SERVICE_RESTART, reason)).await;
                break;
            }
        }
    }
    metrics::gauge!("dealgraph_live_connections").decrement(1.0);
}

/// The first text message (a ping or pong before it is skipped), or `None` when the socket
/// ends first.
async fn first_text(incoming: &mut futures_util::stream::SplitStream<WebSocket>) -> Option<String> {
    while let Some(message) = incoming.next().await {
        match message {
            Ok(Message::Text(text)) => return Some(text.as_str().to_owned()),
            Ok(Message::Binary(bytes)) => return Some(String::from_utf8_lossy(&bytes).into_owned()),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
    None
}

/// The caller of a `connection_init` message, and until when its token holds.
fn authenticate(state: &AppState, init: &str) -> Result<(TenantCtx, SystemTime), AppError> {
    let unauthenticated = |why: &str| AppError::Unauthenticated(why.to_owned());
    let message: serde_json::Value =
        serde_json::from_str(init).map_err(|_| unauthenticated("the first message must be connection_init"))?;
    if message.get("type").and_then(|t| t.as_str()) != Some("connection_init") {
        return Err(unauthenticated("the first message must be connection_init"));
    }
    let payload = message.get("payload");
    // `authorization` as the SPEC spells it; `Authorization` as some clients copy a header.
    let header = payload
        .and_then(|p| p.get("authorization").or_else(|| p.get("Authorization")))
        .and_then(|a| a.as_str())
        .ok_or_else(|| unauthenticated("connection_init carries no authorization"))?;
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .ok_or_else(|| unauthenticated("authorization must be \"Bearer <token>\""))?;
    state.verifier.verify_until(token.trim())
}
