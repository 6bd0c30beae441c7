// The listener (listener.h): binds, accepts, and drains on Stop.

#include "server/listener.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <fmt/format.h>

namespace tracedb::server {

namespace {

// Connections beyond server.max_connections that are still read (to answer
// 503); beyond these, new connections wait in the TCP backlog.
constexpr uint32_t kRejectSlots = 64;

}  // namespace

Server::Impl::Impl(const Config& config, engine::Engine* engine)
    : config_(config),
      engine_(engine),
      ioc_(static_cast<int>(config.io_threads)),
      routes_(RouteTable::For(config)),
      limiter_(static_cast<double>(config.rate_limit_per_second), static_cast<double>(config.rate_limit_burst)),
      listener_strand_(asio::make_strand(ioc_)),
      accept_wake_(listener_strand_) {}

Status Server::Impl::Setup() {
  auto access = AccessControl::Create(config_);
  if (!access.ok()) return access.status();
  access_ = std::move(access).value();
  if (!config_.tls_cert_file.empty()) {
    tls_ = std::make_unique<ssl::context>(ssl::context::tls_server);
    beast::error_code ec;
    tls_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                          ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use,
                      ec);
    tls_->use_certificate_chain_file(config_.tls_cert_file, ec);
    if (ec) {
      return Status::InvalidArgument(
          fmt::format("tls.cert_file '{}': cannot load the certificate chain: {}", config_.tls_cert_file, ec.message()));
    }
    tls_->use_private_key_file(config_.tls_key_file, ssl::context::pem, ec);
    if (ec) {
      return Status::InvalidArgument(
          fmt::format("tls.key_file '{}': cannot load the private key: {}", config_.tls_key_file, ec.message()));
    }
  }
  read_pool_ = std::make_unique<WorkerPool>(config_.read_threads, config_.read_queue_capacity);
  ingest_pool_ = std::make_unique<WorkerPool>(config_.max_concurrent_ingests, 0);
  admin_pool_ = std::make_unique<WorkerPool>(1, 0);
  return Status::OK();
}

Status Server::Impl::Bind(const std::string& host, uint32_t port, std::string_view key, uint16_t* bound) {
  beast::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  tcp::endpoint endpoint;
  if (ec) {
    tcp::resolver resolver(ioc_);
    auto results = resolver.resolve(host, std::to_string(port), ec);
    if (ec || results.empty()) {
      return Status::InvalidArgument(fmt::format("{}: cannot resolve listen host '{}': {}", key, host, ec.message()));
    }
    endpoint = results.begin()->endpoint();
  } else {
    endpoint = tcp::endpoint(addr, static_cast<uint16_t>(port));
  }
  auto acceptor = std::make_unique<tcp::acceptor>(listener_strand_);
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::IoError(fmt::format("{}: cannot listen on {}:{}: {}", key, host, port, ec.message()));
  *bound = acceptor->local_endpoint().port();
  acceptors_.push_back(std::move(acceptor));
  return Status::OK();
}

Status Server::Impl::Listen() {
  TRACEDB_RETURN_IF_ERROR(Bind(config_.host, config_.port, "server.host/server.port", &port_));
  if (!config_.otlp_listen.empty()) {
    std::string host;
    uint32_t port = 0;
    TRACEDB_RETURN_IF_ERROR(ParseListen(config_.otlp_listen, &host, &port));
    TRACEDB_RETURN_IF_ERROR(Bind(host, port, "otlp.listen", &otlp_port_));
  }
  return Status::OK();
}

void Server::Impl::RunThreads() {
  for (auto& acceptor : acceptors_) asio::co_spawn(listener_strand_, AcceptLoop(*acceptor), asio::detached);
  for (uint32_t i = 0; i < config_.io_threads; ++i) {
    threads_.emplace_back([this] { ioc_.run(); });
  }
}

awaitable<void> Server::Impl::AcceptLoop(tcp::acceptor& acceptor) {
  while (true) {
    while (sockets_->open.load() + sockets_->rejecting.load() >= size_t{config_.max_connections} + kRejectSlots &&
           !stopping_) {
      accept_wake_.expires_at(asio::steady_timer::time_point::max());
      co_await accept_wake_.async_wait(kTuple);
    }
    if (stopping_) co_return;
    auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(ioc_), kTuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || stopping_) co_return;
      continue;  // e.g. EMFILE: try again
    }
    bool rejected = sockets_->open.load() >= config_.max_connections;
    if (rejected) {
      sockets_->rejecting.fetch_add(1);
    } else {
      sockets_->open.fetch_add(1);
      http_metrics_.connections_open.fetch_add(1, std::memory_order_relaxed);
    }
    asio::ip::tcp::no_delay nd(true);
    socket.set_option(nd, ec);
    auto executor = socket.get_executor();
    asio::co_spawn(executor, RunHttpSession(*this, std::move(socket), rejected), asio::detached);
  }
}

void Server::Impl::SocketClosed() {
  asio::post(listener_strand_, [this] { accept_wake_.cancel(); });
}

void Server::Impl::RequestBegan() {
  std::lock_guard lock(sessions_mu_);
  ++active_requests_;
}

void Server::Impl::RequestEnded() {
  std::lock_guard lock(sessions_mu_);
  --active_requests_;
  sessions_cv_.notify_all();
}

void Server::Impl::BodyStarted(const std::shared_ptr<BodyPipe>& pipe) {
  std::lock_guard lock(sessions_mu_);
  bodies_.insert(pipe);
}

void Server::Impl::BodyEnded(const std::shared_ptr<BodyPipe>& pipe) {
  std::lock_guard lock(sessions_mu_);
  bodies_.erase(pipe);
}

void Server::Impl::SessionStarted(uint64_t id, const std::shared_ptr<SessionControl>& s) {
  std::lock_guard lock(sessions_mu_);
  sessions_[id] = s;
  if (stopping_) s->BeginShutdown();
}

void Server::Impl::SessionEnded(uint64_t id) {
  std::lock_guard lock(sessions_mu_);
  sessions_.erase(id);
  sessions_cv_.notify_all();
}

void Server::Impl::Stop(double drain_seconds) {
  {
    std::lock_guard lock(sessions_mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  stopping_ = true;
  asio::post(listener_strand_, [this] {
    beast::error_code ignored;
    for (auto& acceptor : acceptors_) acceptor->close(ignored);
    accept_wake_.cancel();
  });
  std::vector<std::shared_ptr<SessionControl>> live;
  {
    std::lock_guard lock(sessions_mu_);
    for (auto& [id, w] : sessions_) {
      if (auto s = w.lock()) live.push_back(std::move(s));
    }
  }
  for (auto& s : live) s->BeginShutdown();
  live.clear();
  {
    // Sessions flush their replies; in-flight HTTP requests (streamed
    // bodies included) are read to their end, committed and answered.
    std::unique_lock lock(sessions_mu_);
    auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(drain_seconds));
    auto drained = [&] { return sessions_.empty() && active_requests_ == 0; };
    if (!sessions_cv_.wait_until(lock, deadline, drained)) {
      for (auto& [id, w] : sessions_) {
        if (auto s = w.lock()) s->Abort();
      }
      for (const auto& pipe : bodies_) pipe->Abort();
      sessions_cv_.wait_for(lock, std::chrono::seconds(2), [&] { return sessions_.empty(); });
    }
  }
  sockets_->stopping = true;
  ioc_.stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
  {
    std::lock_guard lock(sessions_mu_);
    for (const auto& pipe : bodies_) pipe->Abort();
  }
  ingest_pool_->Shutdown();
  read_pool_->Shutdown();
  admin_pool_->Shutdown();
  // Commits every queued write, including the finalization of the traces
  // of the sessions that just closed.
  service_->Shutdown();
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() {
  if (impl_) Stop();
}

Result<std::unique_ptr<Server>> Server::Start(const Config& config, engine::Engine* engine) {
  auto impl = std::make_unique<Impl>(config, engine);
  TRACEDB_RETURN_IF_ERROR(impl->Setup());
  auto service = Service::Create(config, engine);
  if (!service.ok()) return service.status();
  impl->service_ = std::move(service).value();
  TRACEDB_RETURN_IF_ERROR(impl->Listen());
  impl->RunThreads();
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

void Server::Stop(double drain_seconds) { impl_->Stop(drain_seconds); }

uint16_t Server::port() const { return impl_->port_; }

uint16_t Server::otlp_port() const { return impl_->otlp_port_; }

std::string Server::address() const { return fmt::format("{}:{}", impl_->config_.host, impl_->port_); }

Service& Server::service() { return *impl_->service_; }

}  // namespace tracedb::server
