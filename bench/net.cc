#include "bench/net.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
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
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, impl_->host);
  req.keep_alive(true);
  if (!body.empty()) {
    req.set(http::field::content_type, content_type);
    req.body().assign(body.data(), body.size());
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
