#pragma once

// The WebSocket session (ws_session.cc): a Reflow tracing connection after
// an HTTP upgrade. Its read loop and write loop are two coroutines on the
// connection's strand; state shared between them (reply slots, push queue,
// flags) is touched only there, and other threads reach it through
// asio::post (replies through an inbox, one post per burst). The requests
// read are served (Service::Handle) on a parse pool, one job per connection
// at a time, in order; a job's writes reach the group commit together
// (Service::Burst). Replies are framed many per write (ws_frames.h).
// What each message means is server/service.h.

#include <string>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "server/listener.h"

namespace tracedb::server {

// Accepts the upgrade `req` on `stream` (`subprotocol`, may be empty, is
// echoed as the accepted Sec-WebSocket-Protocol) and serves the session
// until it closes, registered with `impl` for a graceful Stop.
// `compress`: the client asked for compressed replies (?compress=1).
// `early`: bytes read behind the request (frames sent before the 101).
awaitable<void> RunWebSocket(Server::Impl& impl, AnyStream stream,
                             beast::http::request<beast::http::string_body> req, std::string subprotocol,
                             bool compress, std::string early);

}  // namespace tracedb::server
