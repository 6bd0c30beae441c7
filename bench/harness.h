#pragma once

// The workload runner's measuring tools: a monotonic clock, a latency
// recorder with exact percentiles, peak-RSS and disk-size probes, and the
// Figures every workload and peer reports. Nothing here knows about tracedb.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tracedb::bench {

using Clock = std::chrono::steady_clock;

inline double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Collects one sample per operation (nanoseconds) and answers percentiles
// by sorting (exact; the runner's sample counts are at most a few million).
class LatencyRecorder {
 public:
  void Add(uint64_t ns) { samples_.push_back(ns); }
  void AddSince(Clock::time_point start) {
    Add(static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count()));
  }
  // Adds every sample of `other`.
  void Merge(const LatencyRecorder& other) {
    samples_.insert(samples_.end(), other.samples_.begin(), other.samples_.end());
    sorted_ = false;
  }
  size_t count() const { return samples_.size(); }
  // The q-quantile (0 < q <= 1) in milliseconds; 0 with no samples.
  double PercentileMs(double q);

 private:
  std::vector<uint64_t> samples_;
  bool sorted_ = false;
};

// What one (workload, system) pair measured. A figure that was not measured
// is negative and prints as "-".
struct Figures {
  std::string workload;       // "ingest_engine", "get_trace", ...
  std::string system;         // "tracedb", "rocksdb_raw", "sqlite", "postgres"
  std::string status = "ok";  // "ok", "unavailable: <why>", "FAILED: <why>"
  uint64_t items = 0;         // events ingested or queries run
  std::string unit = "events/s";
  double seconds = -1;
  double throughput = -1;  // items / seconds
  double p50_ms = -1;      // per operation: a batch commit, a request, a query
  double p99_ms = -1;
  double bytes_per_event = -1;  // on disk after compaction / checkpoint
  double peak_rss_mb = -1;      // of the process doing the work
  bool verified = false;
  std::string note;  // batch size, extra measurements, caveats

  bool ok() const { return status == "ok"; }
  bool failed() const { return status.rfind("FAILED", 0) == 0; }
  // Did not run (no server binary, no PostgreSQL, ...). The runner counts
  // this as a failure too: a result that was not measured never passes.
  bool unavailable() const { return status.rfind("unavailable", 0) == 0; }
};

// Fills the figures of a finished timed loop: peak RSS, items, throughput
// (items / f->seconds, which the caller has set), p50 and p99.
void RecordTiming(Figures* f, double peak_rss_mb, uint64_t items, LatencyRecorder& lat);

// verified / status from the first problem a check found ("" = none).
void RecordVerification(Figures* f, const std::string& problem);

// While alive, enables `perf record --control=fifo:$TRACEDB_PERF_CTL -D -1`
// (so a profile covers only the timed sections of the run). A no-op when
// TRACEDB_PERF_CTL is unset.
class ProfileSection {
 public:
  ProfileSection();
  ~ProfileSection();
  ProfileSection(const ProfileSection&) = delete;
  ProfileSection& operator=(const ProfileSection&) = delete;
};

// Peak resident set of this process since the last ResetPeakRss() (Linux
// /proc/self/status VmHWM), in MiB; -1 when unreadable.
double PeakRssMb();
// Current resident set of this process (VmRSS), in MiB; -1 when unreadable.
double CurrentRssMb();
// Peak resident set of another process (e.g. a child server), in MiB.
double PeakRssMbOf(pid_t pid);
// Returns freed heap memory to the kernel (malloc_trim), so that every
// timed section starts from cold pages, then resets this process's VmHWM
// to its current RSS (writes "5" to /proc/self/clear_refs), so that the
// next PeakRssMb() covers one workload.
void ResetPeakRss();

// Total size of the regular files under `dir` (recursive); 0 when missing.
uint64_t DirectoryBytes(const std::string& dir);

// A fresh directory under $TMPDIR (or /tmp) named tracedb-bench-<tag>-XXXXXX.
std::string MakeTempDir(std::string_view tag);
// Removes `dir` and everything under it; errors are ignored.
void RemoveTree(const std::string& dir);

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreePort();

// One line describing the machine: nproc, CPU model, memory, load average.
std::string MachineDescription();
// `git rev-parse --short HEAD` of the source tree, or "unknown".
std::string GitCommit(const std::string& source_dir);

// Throughput of a tracedb row over a peer row of the same workload.
struct Ratio {
  std::string workload, ours, peer;
  double value = 0;
};
std::vector<Ratio> Ratios(const std::vector<Figures>& all);

// Prints the figures as a table, then the tracedb / peer ratios of every
// workload that has peers.
void PrintTable(const std::vector<Figures>& all);
// Writes the figures, the machine and the command line as one JSON document.
bool WriteJson(const std::string& path, const std::vector<Figures>& all, const std::string& command);

}  // namespace tracedb::bench
