#pragma once

// Minimal blocking HTTP/1.1 and WebSocket clients for the workload runner
// (Boost.Beast; all of Beast stays in net.cc), a pipelining WebSocket client
// that frames by hand, and a tracedb server run as a child process. Not
// thread-safe: one client per thread.

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace tracedb::bench {

struct HttpResponse {
  int status = 0;
  std::string body;
};

// One keep-alive connection to host:port.
class HttpClient {
 public:
  HttpClient();
  ~HttpClient();
  Status Connect(const std::string& host, int port);
  // Sends one request and reads its response. `body` empty for GET.
  Result<HttpResponse> Request(std::string_view method, std::string_view target, std::string_view body,
                               std::string_view content_type = "application/x-ndjson");

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One WebSocket connection (text frames).
class WsClient {
 public:
  WsClient();
  ~WsClient();
  Status Connect(const std::string& host, int port, std::string_view target = "/");
  Status SendText(std::string_view message);
  // Reads one message (text, or binary replies as the server sent them).
  Result<std::string> Read();
  Status Close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One WebSocket connection for pipelined load: the frames of many messages
// go out in one write, and every complete reply that one read brings in is
// returned at once, as a pipelining client (a sink fed, then flushed) does.
// Beast writes and reads one message per call; on a shared machine its
// per-message syscalls cost the server CPU the benchmark means to measure.
//
// Client frames are masked Text frames (RFC 6455 section 5.2; a cheap
// xorshift masking key per frame, enough for a benchmark). Server frames
// must be unmasked and without extension bits (none is negotiated). Not
// thread-safe: one client per thread.
class WsPipeClient {
 public:
  WsPipeClient();
  ~WsPipeClient();
  // Connects with TCP_NODELAY and does the HTTP/1.1 upgrade handshake:
  // fails unless the answer is 101 with the Sec-WebSocket-Accept that
  // matches our key. Bytes that arrive with the 101 are kept as frames.
  Status Connect(const std::string& host, int port, std::string_view target = "/");
  // Frames every message as one Text frame, in order, into one buffer and
  // writes it (one write(2) unless the kernel takes it in parts). The views
  // are only read during the call.
  Status Send(std::span<const std::string_view> messages);
  // Blocks until at least one complete data message (Text or Binary, payload
  // as sent) has arrived, then replaces *out with every complete message
  // buffered, in arrival order. One recv(2) of up to 256 KiB per round; a
  // partial frame stays buffered for the next call. Pings are answered with
  // a Pong; fragmented messages are reassembled. A Close frame, EOF or a
  // protocol violation is an error, and then *out is empty (messages before
  // it in the same read are dropped with it).
  Status ReadSome(std::vector<std::string>* out);
  // As ReadSome, but waits at most `timeout` (ppoll(2), nanosecond
  // resolution) for a complete message: OK with *out empty when none came
  // in time. A paced sender sleeps in it until its next send is due, and
  // still wakes for a reply. timeout <= 0 only takes what is buffered or
  // readable now.
  Status ReadSome(std::vector<std::string>* out, std::chrono::nanoseconds timeout);
  // Sends a Close frame (1000, normal), then reads (discarding data
  // messages) until the server's Close frame or EOF, and closes the socket.
  Status Close();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// `tracedb serve` as a child process on 127.0.0.1, on a port the server
// picks itself (`--listen 127.0.0.1:0 --port-file`, so no other process can
// take the port between choosing and binding it).
class ServerProcess {
 public:
  ~ServerProcess();
  // Starts `binary serve --listen 127.0.0.1:0 --port-file F` plus `args`,
  // waits up to `timeout_s` for the port file, then until GET /healthz
  // answers 200 (or 404, a server without /healthz). Unavailable when the
  // binary is missing, exits during start-up or never becomes ready (the
  // message names the log).
  Status Start(const std::string& binary, const std::vector<std::string>& args, double timeout_s = 20);
  // SIGTERM, then waits (SIGKILL after 20 s). Returns the wait status
  // (waitpid's), -1 when no server was running. A server that did not exit
  // with status 0 keeps its log (LogTail).
  int Stop();
  // "" when `wait_status` (from Stop) is a clean exit 0; otherwise a
  // description with the end of the server's log (a sanitizer report of a
  // server built with one lands there).
  std::string ExitProblem(int wait_status) const;
  // The last `max_bytes` of the server's log.
  std::string LogTail(size_t max_bytes = 4000) const;
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  // Peak RSS of the server so far (MiB).
  double PeakRssMb() const;
  // The server's stderr/stdout, captured to a file (kept when start-up
  // failed, removed with the object otherwise).
  std::string log_path() const { return log_path_; }

 private:
  pid_t pid_ = -1;
  int port_ = -1;
  bool ready_ = false;     // started successfully: the log is removed at exit
  std::string log_dir_;
  std::string log_path_;
};

}  // namespace tracedb::bench
