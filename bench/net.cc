#include "bench/net.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/detail/hybi13.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <thread>

#include <fmt/format.h>

#include "bench/harness.h"

namespace tracedb::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

Status NetError(std::string_view what, const boost::system::error_code& ec) {
  return Status::IoError(fmt::format("{}: {}", what, ec.message()));
}

}  // namespace

struct HttpClient::Impl {
  asio::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
  std::string host;
};

HttpClient::HttpClient() : impl_(std::make_unique<Impl>()) {}
HttpClient::~HttpClient() {
  boost::system::error_code ec;
  impl_->stream.socket().shutdown(tcp::socket::shutdown_both, ec);
}

Status HttpClient::Connect(const std::string& host, int port) {
  boost::system::error_code ec;
  tcp::resolver resolver(impl_->ioc);
  auto results = resolver.resolve(host, std::to_string(port), ec);
  if (ec) return NetError("resolve", ec);
  impl_->stream.connect(results, ec);
  if (ec) return NetError("connect", ec);
  impl_->stream.socket().set_option(tcp::no_delay(true), ec);
  impl_->host = host + ":" + std::to_string(port);
  return Status::OK();
}

Result<HttpResponse> HttpClient::Request(std::string_view method, std::string_view target, std::string_view body,
                                         std::string_view content_type) {
  // The body is sent from the caller's bytes (span_body), not copied into
  // the request: a load generator's copies take CPU from the server it
  // measures on the same cores.
  http::request<http::span_body<const char>> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, impl_->host);
  req.keep_alive(true);
  if (!body.empty()) {
    req.set(http::field::content_type, content_type);
    req.body() = boost::span<const char>(body.data(), body.size());
    req.prepare_payload();
  }
  boost::system::error_code ec;
  http::write(impl_->stream, req, ec);
  if (ec) return NetError("http write", ec);
  http::response_parser<http::string_body> parser;
  parser.body_limit(std::numeric_limits<uint64_t>::max());
  http::read(impl_->stream, impl_->buffer, parser, ec);
  if (ec) return NetError("http read", ec);
  HttpResponse out;
  out.status = static_cast<int>(parser.get().result_int());
  out.body = std::move(parser.get().body());
  return out;
}

struct WsClient::Impl {
  asio::io_context ioc;
  websocket::stream<beast::tcp_stream> ws{ioc};
  beast::flat_buffer buffer;
};

WsClient::WsClient() : impl_(std::make_unique<Impl>()) {}
WsClient::~WsClient() = default;

Status WsClient::Connect(const std::string& host, int port, std::string_view target) {
  boost::system::error_code ec;
  tcp::resolver resolver(impl_->ioc);
  auto results = resolver.resolve(host, std::to_string(port), ec);
  if (ec) return NetError("resolve", ec);
  beast::get_lowest_layer(impl_->ws).connect(results, ec);
  if (ec) return NetError("connect", ec);
  beast::get_lowest_layer(impl_->ws).socket().set_option(tcp::no_delay(true), ec);
  impl_->ws.read_message_max(uint64_t{256} << 20);
  impl_->ws.handshake(host + ":" + std::to_string(port), std::string(target), ec);
  if (ec) return NetError("websocket handshake", ec);
  impl_->ws.text(true);
  return Status::OK();
}

Status WsClient::SendText(std::string_view message) {
  boost::system::error_code ec;
  impl_->ws.write(asio::buffer(message.data(), message.size()), ec);
  if (ec) return NetError("websocket write", ec);
  return Status::OK();
}

Result<std::string> WsClient::Read() {
  boost::system::error_code ec;
  impl_->buffer.clear();
  impl_->ws.read(impl_->buffer, ec);
  if (ec) return NetError("websocket read", ec);
  return beast::buffers_to_string(impl_->buffer.data());
}

Status WsClient::Close() {
  boost::system::error_code ec;
  impl_->ws.close(websocket::close_code::normal, ec);
  if (ec) return NetError("websocket close", ec);
  return Status::OK();
}

// Wire format (RFC 6455 section 5.2), one frame:
//   frame   := b0 b1 length mask? payload
//   b0      := FIN(1 bit) RSV(3 bits, 0 here) opcode(4 bits)
//   b1      := MASK(1 bit) len7(7 bits)
//   length  := ""             when len7 <= 125
//            | uint16 (BE)    when len7 == 126
//            | uint64 (BE)    when len7 == 127
//   mask    := 4 bytes, present iff MASK; client frames always, server never
//   payload := length bytes, XORed with mask[i % 4] when masked
// Control frames (Close, Ping, Pong) carry at most 125 bytes and FIN=1.
class WsPipeClient::Impl {
 public:
  Status Connect(const std::string& host, int port, std::string_view target);
  Status Send(std::span<const std::string_view> messages);
  Status ReadSome(std::vector<std::string>* out);
  Status ReadSome(std::vector<std::string>* out, std::chrono::nanoseconds timeout);
  Status Close();

 private:
  enum class Opcode : uint8_t { kContinuation = 0, kText = 1, kBinary = 2, kClose = 8, kPing = 9, kPong = 10 };
  static constexpr size_t kReadChunk = size_t{256} << 10;
  static constexpr uint64_t kMaxMessage = uint64_t{256} << 20;  // as WsClient's read_message_max

  Status Handshake(const std::string& host_port, std::string_view target);
  uint32_t NextMaskKey();
  void AppendFrame(Opcode opcode, std::string_view payload, std::string* wire);
  Status WriteAll(std::string_view bytes);
  Status ReadChunk();
  Status ParseBuffered(std::vector<std::string>* out);
  Status OnFrame(Opcode opcode, bool fin, std::string_view payload, std::vector<std::string>* out);

  asio::io_context ioc_;
  tcp::socket socket_{ioc_};
  uint64_t prng_ = 0x9E3779B97F4A7C15ull;
  std::string wire_;         // frames being sent; reused between calls
  std::vector<char> rbuf_;   // received bytes: [rbegin_, rend_) not yet parsed
  size_t rbegin_ = 0;
  size_t rend_ = 0;
  std::string fragments_;    // a fragmented message so far
  bool in_fragments_ = false;
  bool close_received_ = false;
  bool eof_ = false;         // the server closed the TCP connection
};

Status WsPipeClient::Impl::Connect(const std::string& host, int port, std::string_view target) {
  boost::system::error_code ec;
  tcp::resolver resolver(ioc_);
  auto results = resolver.resolve(host, std::to_string(port), ec);
  if (ec) return NetError("resolve", ec);
  asio::connect(socket_, results, ec);
  if (ec) return NetError("connect", ec);
  socket_.set_option(tcp::no_delay(true), ec);
  if (ec) return NetError("TCP_NODELAY", ec);
  prng_ = (prng_ ^ static_cast<uint64_t>(Clock::now().time_since_epoch().count())) | 1;  // xorshift: never 0
  return Handshake(host + ":" + std::to_string(port), target);
}

// By hand rather than Beast's handshake, so no bytes Beast might read past
// the 101 are lost: whatever http::read buffered beyond the response is
// handed to the frame parser. The key and the expected accept come from the
// helpers Beast's own handshake uses.
Status WsPipeClient::Impl::Handshake(const std::string& host_port, std::string_view target) {
  websocket::detail::sec_ws_key_type key;
  websocket::detail::make_sec_ws_key(key);
  const std::string request = fmt::format(
      "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: {}\r\nSec-WebSocket-Version: 13\r\n\r\n",
      target, host_port, std::string_view(key.data(), key.size()));
  Status s = WriteAll(request);
  if (!s.ok()) return s;
  beast::flat_buffer buffer;
  http::response_parser<http::empty_body> parser;
  boost::system::error_code ec;
  http::read(socket_, buffer, parser, ec);
  if (ec) return NetError("websocket handshake read", ec);
  const auto& res = parser.get();
  if (res.result() != http::status::switching_protocols)
    return Status::IoError(fmt::format("websocket handshake: HTTP {}", res.result_int()));
  websocket::detail::sec_ws_accept_type accept;
  websocket::detail::make_sec_ws_accept(accept, beast::string_view(key.data(), key.size()));
  if (!beast::iequals(res[http::field::upgrade], "websocket"))
    return Status::IoError("websocket handshake: no Upgrade: websocket");
  if (res[http::field::sec_websocket_accept] != beast::string_view(accept.data(), accept.size()))
    return Status::IoError("websocket handshake: wrong Sec-WebSocket-Accept");
  if (!res[http::field::sec_websocket_extensions].empty())
    return Status::IoError("websocket handshake: the server chose an extension we did not offer");
  rbuf_.resize(std::max(kReadChunk, buffer.size()));
  rend_ = asio::buffer_copy(asio::buffer(rbuf_), buffer.data());
  return Status::OK();
}

uint32_t WsPipeClient::Impl::NextMaskKey() {
  prng_ ^= prng_ << 13;
  prng_ ^= prng_ >> 7;
  prng_ ^= prng_ << 17;
  return static_cast<uint32_t>(prng_ >> 32);
}

void WsPipeClient::Impl::AppendFrame(Opcode opcode, std::string_view payload, std::string* wire) {
  const uint64_t n = payload.size();
  unsigned char head[14];
  size_t h = 0;
  head[h++] = static_cast<unsigned char>(0x80 | static_cast<uint8_t>(opcode));
  if (n <= 125) {
    head[h++] = static_cast<unsigned char>(0x80 | n);
  } else if (n <= 0xFFFF) {
    head[h++] = 0x80 | 126;
    for (int shift = 8; shift >= 0; shift -= 8) head[h++] = static_cast<unsigned char>(n >> shift);
  } else {
    head[h++] = 0x80 | 127;
    for (int shift = 56; shift >= 0; shift -= 8) head[h++] = static_cast<unsigned char>(n >> shift);
  }
  // The key's bytes go on the wire in memory order, so the same bytes
  // doubled make the 8-byte mask whatever the host's endianness.
  const uint32_t key = NextMaskKey();
  unsigned char mask[8];
  std::memcpy(mask, &key, 4);
  std::memcpy(mask + 4, &key, 4);
  std::memcpy(head + h, mask, 4);
  h += 4;
  const size_t at = wire->size();
  wire->resize(at + h + n);
  char* dst = wire->data() + at;
  std::memcpy(dst, head, h);
  dst += h;
  uint64_t mask64;
  std::memcpy(&mask64, mask, 8);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t v;
    std::memcpy(&v, payload.data() + i, 8);
    v ^= mask64;
    std::memcpy(dst + i, &v, 8);
  }
  for (; i < n; ++i) dst[i] = static_cast<char>(payload[i] ^ mask[i & 3]);
}

Status WsPipeClient::Impl::WriteAll(std::string_view bytes) {
  boost::system::error_code ec;
  asio::write(socket_, asio::buffer(bytes.data(), bytes.size()), ec);  // loops on partial writes
  if (ec) return NetError("websocket write", ec);
  return Status::OK();
}

Status WsPipeClient::Impl::Send(std::span<const std::string_view> messages) {
  wire_.clear();
  for (std::string_view m : messages) AppendFrame(Opcode::kText, m, &wire_);
  return WriteAll(wire_);
}

// Moves the unparsed tail to the front, makes room for kReadChunk more
// bytes (or the rest of a frame larger than that), and reads once.
Status WsPipeClient::Impl::ReadChunk() {
  if (rbegin_ > 0) {
    std::memmove(rbuf_.data(), rbuf_.data() + rbegin_, rend_ - rbegin_);
    rend_ -= rbegin_;
    rbegin_ = 0;
  }
  if (rbuf_.size() < rend_ + kReadChunk) rbuf_.resize(rend_ + kReadChunk);
  boost::system::error_code ec;
  const size_t got = socket_.read_some(asio::buffer(rbuf_.data() + rend_, kReadChunk), ec);
  eof_ = ec == asio::error::eof;
  if (ec) return NetError("websocket read", ec);
  rend_ += got;
  return Status::OK();
}

// Consumes every complete frame in [rbegin_, rend_); stops at a partial one
// or after a Close frame.
Status WsPipeClient::Impl::ParseBuffered(std::vector<std::string>* out) {
  while (!close_received_) {
    const auto* p = reinterpret_cast<const unsigned char*>(rbuf_.data() + rbegin_);
    const size_t avail = rend_ - rbegin_;
    if (avail < 2) return Status::OK();
    if ((p[0] & 0x70) != 0) return Status::IoError("websocket: RSV bits set, no extension was negotiated");
    if ((p[1] & 0x80) != 0) return Status::IoError("websocket: the server sent a masked frame");
    const bool fin = (p[0] & 0x80) != 0;
    const auto opcode = static_cast<Opcode>(p[0] & 0x0F);
    uint64_t len = p[1] & 0x7F;
    size_t h = 2;
    if (len >= 126) {
      const size_t bytes = len == 126 ? 2 : 8;
      if (avail < h + bytes) return Status::OK();
      len = 0;
      for (size_t i = 0; i < bytes; ++i) len = (len << 8) | p[h + i];
      h += bytes;
    }
    if (len > kMaxMessage) return Status::IoError(fmt::format("websocket: a {} byte frame", len));
    if (avail < h + len) return Status::OK();
    Status s = OnFrame(opcode, fin, std::string_view(rbuf_.data() + rbegin_ + h, len), out);
    if (!s.ok()) return s;
    rbegin_ += h + len;
  }
  return Status::OK();
}

Status WsPipeClient::Impl::OnFrame(Opcode opcode, bool fin, std::string_view payload, std::vector<std::string>* out) {
  switch (opcode) {
    case Opcode::kText:
    case Opcode::kBinary:
      if (in_fragments_) return Status::IoError("websocket: a new message inside a fragmented one");
      if (fin) {
        out->emplace_back(payload);
      } else {
        fragments_.assign(payload);
        in_fragments_ = true;
      }
      return Status::OK();
    case Opcode::kContinuation:
      if (!in_fragments_) return Status::IoError("websocket: a continuation frame without a message");
      if (fragments_.size() + payload.size() > kMaxMessage) return Status::IoError("websocket: message too large");
      fragments_.append(payload);
      if (fin) {
        out->push_back(std::move(fragments_));
        fragments_.clear();
        in_fragments_ = false;
      }
      return Status::OK();
    case Opcode::kPing: {
      if (!fin || payload.size() > 125) return Status::IoError("websocket: malformed Ping");
      std::string pong;
      AppendFrame(Opcode::kPong, payload, &pong);
      return WriteAll(pong);
    }
    case Opcode::kPong:
      return Status::OK();
    case Opcode::kClose:
      close_received_ = true;
      return Status::OK();
  }
  return Status::IoError(fmt::format("websocket: unknown opcode {}", static_cast<int>(opcode)));
}

Status WsPipeClient::Impl::ReadSome(std::vector<std::string>* out) {
  out->clear();
  Status s = ParseBuffered(out);  // bytes that came with the 101
  while (s.ok() && (out->empty() || close_received_)) {
    if (close_received_) {
      s = Status::IoError("websocket: the server sent a Close frame");
    } else {
      s = ReadChunk();
      if (s.ok()) s = ParseBuffered(out);
    }
  }
  if (!s.ok()) out->clear();
  return s;
}

Status WsPipeClient::Impl::ReadSome(std::vector<std::string>* out, std::chrono::nanoseconds timeout) {
  out->clear();
  const auto deadline = Clock::now() + timeout;
  Status s = ParseBuffered(out);
  while (s.ok() && out->empty() && !close_received_) {
    const auto left = std::max(std::chrono::nanoseconds(0), std::chrono::nanoseconds(deadline - Clock::now()));
    const timespec ts{static_cast<time_t>(left.count() / 1'000'000'000),
                      static_cast<long>(left.count() % 1'000'000'000)};
    pollfd pfd{socket_.native_handle(), POLLIN, 0};
    const int ready = ppoll(&pfd, 1, &ts, nullptr);
    if (ready < 0 && errno != EINTR) return Status::IoError(fmt::format("websocket poll: {}", std::strerror(errno)));
    if (ready == 0) return Status::OK();  // timed out, nothing complete
    if (ready < 0) continue;
    // Readable (data, EOF or an error), so the blocking recv returns at once.
    s = ReadChunk();
    if (s.ok()) s = ParseBuffered(out);
  }
  if (s.ok() && close_received_) s = Status::IoError("websocket: the server sent a Close frame");
  if (!s.ok()) out->clear();
  return s;
}

Status WsPipeClient::Impl::Close() {
  std::string frame;
  AppendFrame(Opcode::kClose, std::string_view("\x03\xE8", 2), &frame);  // 1000, normal closure
  Status s = WriteAll(frame);
  std::vector<std::string> discarded;
  while (s.ok() && !close_received_) {
    s = ParseBuffered(&discarded);
    discarded.clear();
    if (s.ok() && !close_received_) {
      s = ReadChunk();
      if (eof_) {
        s = Status::OK();
        break;
      }
    }
  }
  boost::system::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  return s;
}

WsPipeClient::WsPipeClient() : impl_(std::make_unique<Impl>()) {}
WsPipeClient::~WsPipeClient() = default;
Status WsPipeClient::Connect(const std::string& host, int port, std::string_view target) {
  return impl_->Connect(host, port, target);
}
Status WsPipeClient::Send(std::span<const std::string_view> messages) { return impl_->Send(messages); }
Status WsPipeClient::ReadSome(std::vector<std::string>* out) { return impl_->ReadSome(out); }
Status WsPipeClient::ReadSome(std::vector<std::string>* out, std::chrono::nanoseconds timeout) {
  return impl_->ReadSome(out, timeout);
}
Status WsPipeClient::Close() { return impl_->Close(); }

ServerProcess::~ServerProcess() {
  if (pid_ > 0) Stop();
  if (ready_) RemoveTree(log_dir_);
}

Status ServerProcess::Start(const std::string& binary, const std::vector<std::string>& args, double timeout_s) {
  if (access(binary.c_str(), X_OK) != 0) return Status::Unavailable("no server binary at " + binary);
  log_dir_ = MakeTempDir("server-log");
  log_path_ = log_dir_ + "/server.log";
  const std::string port_file = log_dir_ + "/port";
  std::vector<std::string> argv_s = {binary, "serve", "--listen", "127.0.0.1:0", "--port-file", port_file};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  pid_ = fork();
  if (pid_ < 0) return Status::IoError("fork failed");
  if (pid_ == 0) {
    int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    std::vector<char*> argv;
    for (std::string& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  auto start = Clock::now();
  while (SecondsSince(start) < timeout_s) {
    int st = 0;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      return Status::Unavailable(
          fmt::format("server exited during start-up (status {}); log {}:\n{}", st, log_path_, LogTail(1000)));
    }
    if (port_ < 0) {
      // The server renames the file into place, so a present file is whole.
      std::ifstream in(port_file);
      int port = -1;
      if (in >> port && port > 0) port_ = port;
    }
    if (port_ > 0) {
      HttpClient c;
      if (c.Connect("127.0.0.1", port_).ok()) {
        auto r = c.Request("GET", "/healthz", "");
        if (r.ok() && (r->status == 200 || r->status == 404)) {
          ready_ = true;
          return Status::OK();
        }
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Stop();
  return Status::Unavailable(fmt::format("server did not become ready in {:.0f} s; log {}", timeout_s, log_path_));
}

int ServerProcess::Stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int st = 0;
  auto start = Clock::now();
  while (waitpid(pid_, &st, WNOHANG) == 0) {
    if (SecondsSince(start) > 20) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &st, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  pid_ = -1;
  if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) ready_ = false;  // keep the log
  return st;
}

std::string ServerProcess::ExitProblem(int wait_status) const {
  if (wait_status != -1 && WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0) return "";
  std::string how = wait_status == -1             ? "was not running"
                    : WIFEXITED(wait_status)      ? fmt::format("exited with status {}", WEXITSTATUS(wait_status))
                    : WIFSIGNALED(wait_status)    ? fmt::format("was killed by signal {}", WTERMSIG(wait_status))
                                                  : fmt::format("ended with wait status {}", wait_status);
  return fmt::format("server {} after SIGTERM; log {}:\n{}", how, log_path_, LogTail());
}

std::string ServerProcess::LogTail(size_t max_bytes) const {
  std::ifstream in(log_path_, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return text.size() > max_bytes ? "..." + text.substr(text.size() - max_bytes) : text;
}

double ServerProcess::PeakRssMb() const { return pid_ > 0 ? PeakRssMbOf(pid_) : -1; }

}  // namespace tracedb::bench
