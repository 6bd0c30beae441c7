#include "bench/harness.h"

#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

namespace tracedb::bench {

double LatencyRecorder::PercentileMs(double q) {
  if (samples_.empty()) return 0;
  if (!sorted_) {
    std::sort(samples_.begin(), samples_.end());
    sorted_ = true;
  }
  size_t rank = static_cast<size_t>(q * static_cast<double>(samples_.size()) + 0.999999);
  rank = std::clamp<size_t>(rank, 1, samples_.size());
  return static_cast<double>(samples_[rank - 1]) / 1e6;
}

namespace {

double ReadStatusField(const std::string& status_path, std::string_view field) {
  std::ifstream in(status_path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) return std::stod(line.substr(field.size())) / 1024.0;  // kB -> MiB
  }
  return -1;
}

double ReadHwm(const std::string& status_path) { return ReadStatusField(status_path, "VmHWM:"); }

}  // namespace

namespace {

void PerfControl(const char* command) {
  const char* path = getenv("TRACEDB_PERF_CTL");
  if (path == nullptr || *path == '\0') return;
  std::ofstream ctl(path);
  ctl << command << "\n";
}

}  // namespace

ProfileSection::ProfileSection() { PerfControl("enable"); }
ProfileSection::~ProfileSection() { PerfControl("disable"); }

double PeakRssMb() { return ReadHwm("/proc/self/status"); }
double CurrentRssMb() { return ReadStatusField("/proc/self/status", "VmRSS:"); }
double PeakRssMbOf(pid_t pid) { return ReadHwm("/proc/" + std::to_string(pid) + "/status"); }

void ResetPeakRss() {
  // Freed heap memory goes back to the kernel first, so that no system
  // starts on pages another one already faulted in: first-touch page faults
  // cost ~1.5 us per ingested event on this VM, and a peer measured after
  // tracedb would otherwise write its memtables into warm pages
  // (docs/PERFORMANCE.md, "Fair order").
  malloc_trim(0);
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
}

uint64_t DirectoryBytes(const std::string& dir) {
  std::error_code ec;
  uint64_t total = 0;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code ec2;
    if (it->is_regular_file(ec2)) total += it->file_size(ec2);
  }
  return total;
}

std::string MakeTempDir(std::string_view tag) {
  const char* base = getenv("TMPDIR");
  std::string templ = std::string(base && *base ? base : "/tmp") + "/tracedb-bench-" + std::string(tag) + "-XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) return {};
  return std::string(buf.data());
}

void RemoveTree(const std::string& dir) {
  if (dir.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    socklen_t len = sizeof(addr);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

std::string MachineDescription() {
  std::string cpu = "unknown CPU";
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) cpu = line.substr(colon + 2);
      break;
    }
  }
  double mem_gib = 0;
  std::ifstream meminfo("/proc/meminfo");
  while (std::getline(meminfo, line)) {
    if (line.rfind("MemTotal:", 0) == 0) {
      mem_gib = std::stod(line.substr(9)) / (1024.0 * 1024.0);
      break;
    }
  }
  std::string load = "?";
  std::ifstream loadavg("/proc/loadavg");
  if (loadavg) {
    std::string a, b, c;
    loadavg >> a >> b >> c;
    load = a + " " + b + " " + c;
  }
  return fmt::format("nproc={} cpu=\"{}\" mem={:.1f}GiB load={}", std::thread::hardware_concurrency(), cpu,
                     mem_gib, load);
}

std::string GitCommit(const std::string& source_dir) {
  std::string cmd = "git -C '" + source_dir + "' rev-parse --short HEAD 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return "unknown";
  char buf[64] = {0};
  std::string out;
  if (fgets(buf, sizeof(buf), p) != nullptr) out = buf;
  pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out.empty() ? "unknown" : out;
}

namespace {

std::string Num(double v, const char* spec = "{:.0f}") {
  if (v < 0) return "-";
  return fmt::format(fmt::runtime(spec), v);
}

}  // namespace

void PrintTable(const std::vector<Figures>& all) {
  fmt::print("\n{:<19} {:<12} {:>10} {:>13} {:<9} {:>9} {:>9} {:>9} {:>8} {:>8}  {}\n", "workload", "system",
             "items", "throughput", "unit", "p50 ms", "p99 ms", "B/event", "RSS MiB", "verified", "status / note");
  for (const Figures& f : all) {
    std::string status = f.ok() ? f.note : f.status + (f.note.empty() ? "" : " (" + f.note + ")");
    fmt::print("{:<19} {:<12} {:>10} {:>13} {:<9} {:>9} {:>9} {:>9} {:>8} {:>8}  {}\n", f.workload, f.system,
               f.ok() ? std::to_string(f.items) : "-", Num(f.throughput), f.unit, Num(f.p50_ms, "{:.3f}"),
               Num(f.p99_ms, "{:.3f}"), Num(f.bytes_per_event, "{:.1f}"), Num(f.peak_rss_mb),
               f.ok() ? (f.verified ? "yes" : "NO") : "-", status);
  }
  std::vector<Ratio> ratios = Ratios(all);
  if (!ratios.empty()) fmt::print("\nratios (throughput, tracedb / peer):\n");
  for (const Ratio& r : ratios) {
    fmt::print("  {:<19} {:<15} / {:<12} = {:.2f}x\n", r.workload, r.ours, r.peer, r.value);
  }
}

std::vector<Ratio> Ratios(const std::vector<Figures>& all) {
  std::vector<Ratio> out;
  for (const Figures& a : all) {
    if (a.system.rfind("tracedb", 0) != 0 || !a.ok() || a.throughput <= 0) continue;
    for (const Figures& b : all) {
      if (b.workload != a.workload || b.system.rfind("tracedb", 0) == 0 || !b.ok() || b.throughput <= 0) continue;
      out.push_back({a.workload, a.system, b.system, a.throughput / b.throughput});
    }
  }
  return out;
}

bool WriteJson(const std::string& path, const std::vector<Figures>& all, const std::string& command) {
  boost::json::object doc;
  doc["machine"] = MachineDescription();
  doc["command"] = command;
  boost::json::array rows;
  for (const Figures& f : all) {
    boost::json::object r;
    r["workload"] = f.workload;
    r["system"] = f.system;
    r["status"] = f.status;
    r["items"] = f.items;
    r["unit"] = f.unit;
    r["seconds"] = f.seconds;
    r["throughput"] = f.throughput;
    r["p50_ms"] = f.p50_ms;
    r["p99_ms"] = f.p99_ms;
    r["bytes_per_event"] = f.bytes_per_event;
    r["peak_rss_mb"] = f.peak_rss_mb;
    r["verified"] = f.verified;
    r["note"] = f.note;
    rows.push_back(std::move(r));
  }
  doc["results"] = std::move(rows);
  boost::json::array ratios;
  for (const Ratio& r : Ratios(all)) {
    ratios.push_back(boost::json::object{{"workload", r.workload}, {"tracedb", r.ours}, {"peer", r.peer}, {"ratio", r.value}});
  }
  doc["ratios"] = std::move(ratios);
  std::ofstream out(path);
  out << boost::json::serialize(doc) << "\n";
  return static_cast<bool>(out);
}

void RecordTiming(Figures* f, double peak_rss_mb, uint64_t items, LatencyRecorder& lat) {
  f->peak_rss_mb = peak_rss_mb;
  f->items = items;
  f->throughput = static_cast<double>(items) / f->seconds;
  f->p50_ms = lat.PercentileMs(0.5);
  f->p99_ms = lat.PercentileMs(0.99);
}

void RecordVerification(Figures* f, const std::string& problem) {
  f->verified = problem.empty();
  if (!f->verified) f->status = "FAILED: " + problem;
}

}  // namespace tracedb::bench
