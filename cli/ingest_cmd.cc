// `tracedb ingest FILE…`: loads NDJSON files (plain, gzip, zstd or lz4) into
// a local store or through a running server, with a progress bar on a
// terminal and periodic plain lines otherwise. A local load goes through the
// same pipeline as HTTP bulk ingest (ingest/pipeline/bulk_ingest.h: Reflow
// lines parsed on two threads while the previous batch commits); each file
// ends with its report and a line with its rate (events/s).

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include <fmt/format.h>

#include "cli/command.h"
#include "cli/http_client.h"
#include "ingest/pipeline/bulk_ingest.h"
#include "ingest/pipeline/decompress.h"

namespace tracedb::cli {
namespace {

struct IngestFlags {
  std::vector<std::string> files;
  std::string server;
  std::string format = "reflow";
  size_t batch_lines = 2000;
  bool all_or_nothing = false;
  bool quiet = false;
};

// The codec of a file: by extension, else by magic bytes.
ingest::Codec FileCodec(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  if (ext == ".gz" || ext == ".gzip") return ingest::Codec::kGzip;
  if (ext == ".zst" || ext == ".zstd") return ingest::Codec::kZstd;
  if (ext == ".lz4") return ingest::Codec::kLz4;
  std::ifstream in(path, std::ios::binary);
  unsigned char m[4] = {0, 0, 0, 0};
  in.read(reinterpret_cast<char*>(m), 4);
  if (m[0] == 0x1f && m[1] == 0x8b) return ingest::Codec::kGzip;
  if (m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd) return ingest::Codec::kZstd;
  if (m[0] == 0x04 && m[1] == 0x22 && m[2] == 0x4d && m[3] == 0x18) return ingest::Codec::kLz4;
  return ingest::Codec::kNone;
}

// Progress of one file: a redrawn bar on a terminal, a line every 2 s
// otherwise.
class Progress {
 public:
  Progress(std::string name, uint64_t total, bool quiet)
      : name_(std::move(name)), total_(total), quiet_(quiet), tty_(isatty(STDERR_FILENO) == 1) {}

  // Seconds since the progress started.
  double Seconds() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

  void Update(uint64_t done, uint64_t events, bool final = false) {
    if (quiet_) return;
    auto now = Clock::now();
    double secs = std::chrono::duration<double>(now - start_).count();
    if (!final && now - last_ < (tty_ ? std::chrono::milliseconds(200) : std::chrono::milliseconds(2000))) return;
    last_ = now;
    double rate = secs > 0 ? static_cast<double>(events) / secs : 0;
    double mbps = secs > 0 ? static_cast<double>(done) / secs / 1e6 : 0;
    double frac = total_ > 0 ? static_cast<double>(done) / static_cast<double>(total_) : 1.0;
    double eta = (frac > 0 && frac < 1) ? secs / frac - secs : 0;
    if (tty_) {
      int width = 24;
      int filled = static_cast<int>(frac * width);
      fmt::print(stderr, "\r{} [{}{}] {:5.1f}%  {:.1f}/{:.1f} MB  {} events  {:.0f} ev/s  {:.1f} MB/s  ETA {:.0f}s ",
                 name_, std::string(static_cast<size_t>(filled), '#'), std::string(static_cast<size_t>(width - filled), '.'),
                 frac * 100, static_cast<double>(done) / 1e6, static_cast<double>(total_) / 1e6, events, rate, mbps, eta);
      if (final) fmt::print(stderr, "\n");
    } else {
      fmt::print(stderr, "{}: {:.1f}/{:.1f} MB ({:.1f}%), {} events, {:.0f} events/s, {:.1f} MB/s, ETA {:.0f}s\n", name_,
                 static_cast<double>(done) / 1e6, static_cast<double>(total_) / 1e6, frac * 100, events, rate, mbps, eta);
    }
    std::fflush(stderr);
  }

 private:
  using Clock = std::chrono::steady_clock;
  std::string name_;
  uint64_t total_;
  bool quiet_;
  bool tty_;
  Clock::time_point start_ = Clock::now();
  Clock::time_point last_{};
};

// The last line of a file's output: events (stored or already stored) per
// second of wall time, from opening the file to its last commit.
void PrintRate(const std::string& path, uint64_t events, uint64_t bytes, double secs) {
  double rate = secs > 0 ? static_cast<double>(events) / secs : 0;
  double mbps = secs > 0 ? static_cast<double>(bytes) / secs / 1e6 : 0;
  fmt::print("{}: {} events in {:.2f} s, {:.0f} events/s, {:.1f} MB/s\n", path, events, secs, rate, mbps);
}

ingest::IngestOptions OptionsFor(const IngestFlags& f) {
  ingest::IngestOptions o;
  o.format = f.format == "operonx" ? ingest::IngestFormat::kOperonx : ingest::IngestFormat::kReflow;
  o.atomicity = f.all_or_nothing ? ingest::Atomicity::kAllOrNothing : ingest::Atomicity::kPerLine;
  o.batch_lines = f.batch_lines;
  return o;
}

// Opens `path` for reading and reports its size; prints why when it cannot.
bool OpenInput(const std::string& path, std::ifstream* in, uint64_t* size) {
  in->open(path, std::ios::binary);
  if (!*in) {
    fmt::print(stderr, "tracedb ingest: cannot open {}\n", path);
    return false;
  }
  std::error_code ec;
  *size = std::filesystem::file_size(path, ec);
  return true;
}

// Streams one file into the engine; prints its report.
bool IngestLocal(engine::Engine* engine, const std::string& path, const IngestFlags& f) {
  std::ifstream in;
  uint64_t total = 0;
  if (!OpenInput(path, &in, &total)) return false;
  auto decoder = ingest::StreamDecoder::Create(FileCodec(path));
  // The engine prepares a batch while it commits the one before.
  ingest::BulkIngestor ingestor(OptionsFor(f), ingest::WriteAsyncTo(engine));
  Progress progress(path, total, f.quiet);
  std::vector<char> buf(1 << 20);
  uint64_t done = 0;
  std::string plain;
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    auto n = static_cast<size_t>(in.gcount());
    if (n == 0) break;
    done += n;
    plain.clear();
    Status s = decoder->Feed(std::string_view(buf.data(), n), &plain);
    if (s.ok()) s = ingestor.Feed(plain);
    if (!s.ok()) {
      fmt::print(stderr, "\ntracedb ingest: {}: {}\n", path, s.message());
      return false;
    }
    progress.Update(done, ingestor.report().events + ingestor.report().duplicates);
  }
  Status fin = decoder->Finish();
  auto report = ingestor.Finish();
  progress.Update(done, report.ok() ? report->events + report->duplicates : 0, /*final=*/true);
  if (!fin.ok() || !report.ok()) {
    fmt::print(stderr, "tracedb ingest: {}: {}\n", path, !fin.ok() ? fin.message() : report.status().message());
    return false;
  }
  fmt::print("{}: {}\n", path, report->ToJson());
  PrintRate(path, report->events + report->duplicates, done, progress.Seconds());
  return report->committed;
}

bool IngestRemote(const std::string& path, const IngestFlags& f) {
  std::ifstream in;
  uint64_t total = 0;
  if (!OpenInput(path, &in, &total)) return false;
  std::string url = f.server;
  while (!url.empty() && url.back() == '/') url.pop_back();
  url += "/v1/ingest/" + f.format;
  if (f.all_or_nothing) url += "?atomic=1";
  HttpRequestOptions options;
  options.headers = AuthHeaders();
  options.headers.push_back("Content-Type: application/x-ndjson");
  ingest::Codec codec = FileCodec(path);
  if (codec != ingest::Codec::kNone) options.headers.push_back("Content-Encoding: " + std::string(ingest::CodecName(codec)));
  Progress progress(path, total, f.quiet);
  options.progress = [&progress](uint64_t uploaded) {
    progress.Update(uploaded, 0);
    return true;
  };
  auto r = HttpPostStream(url, [&in](char* buf, size_t cap) -> size_t {
    in.read(buf, static_cast<std::streamsize>(cap));
    return static_cast<size_t>(in.gcount());
  }, options);
  progress.Update(total, 0, /*final=*/true);
  if (!r.ok()) {
    fmt::print(stderr, "tracedb ingest: {}\n", r.status().message());
    return false;
  }
  fmt::print("{}: {} {}\n", path, r->status, r->body);
  if (r->status == 200) {
    uint64_t events = 0;
    // The reply's counts, as printed above: accepted + duplicates.
    for (const char* key : {"\"accepted\":", "\"duplicates\":"}) {
      size_t at = r->body.find(key);
      if (at != std::string::npos) events += std::strtoull(r->body.c_str() + at + std::strlen(key), nullptr, 10);
    }
    PrintRate(path, events, total, progress.Seconds());
  }
  return r->status == 200;
}

int Run(const ConfigFlags& flags, const IngestFlags& f) {
  bool ok = true;
  if (!f.server.empty()) {
    for (const auto& path : f.files) ok = IngestRemote(path, f) && ok;
    return ok ? 0 : 1;
  }
  auto loader = flags.Resolve();
  if (!loader.ok()) {
    fmt::print(stderr, "tracedb ingest: {}\n", loader.status().message());
    return 2;
  }
  auto engine = OpenStore(loader->config());
  if (!engine.ok()) {
    fmt::print(stderr,
               "tracedb ingest: {}\n(if a server is running on this data directory, send through it with --server "
               "http://HOST:PORT)\n",
               engine.status().message());
    return 1;
  }
  for (const auto& path : f.files) ok = IngestLocal(engine->get(), path, f) && ok;
  return ok ? 0 : 1;
}

Registrar kIngest({"ingest",
                   "Load NDJSON files (plain, gzip, zstd or lz4) into a store or through a server", 20,
                   [](CLI::App* sub) -> RunFn {
                     auto flags = std::make_shared<ConfigFlags>(sub, /*with_listen=*/false);
                     auto f = std::make_shared<IngestFlags>();
                     sub->add_option("files", f->files,
                                     "NDJSON files: Reflow requests (StartTrace, RecordEvent, EndTrace, StoreTrace) "
                                     "or operonx TraceEvents / batch envelopes / JSON arrays")
                         ->required()
                         ->check(CLI::ExistingFile);
                     sub->add_option("--format", f->format, "reflow or operonx")
                         ->check(CLI::IsMember({"reflow", "operonx"}))
                         ->capture_default_str();
                     sub->add_option("--server", f->server,
                                     "Send through a running server at this URL (http://HOST:PORT) instead of "
                                     "opening a store; sends $TRACEDB_API_KEY as a bearer token when set");
                     sub->add_option("--batch-lines", f->batch_lines, "Lines per committed write batch (local mode)")
                         ->capture_default_str();
                     sub->add_flag("--all-or-nothing", f->all_or_nothing,
                                   "Commit a file only if every line is valid");
                     sub->add_flag("--quiet", f->quiet, "No progress output");
                     return [flags, f] { return Run(*flags, *f); };
                   }});

}  // namespace
}  // namespace tracedb::cli
