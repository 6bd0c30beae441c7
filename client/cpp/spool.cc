#include "client/cpp/spool.h"

#include <fcntl.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace tracedb::client::internal {

namespace fs = std::filesystem;

namespace {

std::string SegmentName(uint64_t first_seq) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "seg-%016llx.log", static_cast<unsigned long long>(first_seq));
  return buf;
}

bool ParseSegmentName(const std::string& name, uint64_t* first) {
  if (name.size() != 24 || !name.starts_with("seg-") || !name.ends_with(".log")) return false;
  char* end = nullptr;
  *first = std::strtoull(name.c_str() + 4, &end, 16);
  return end == name.c_str() + 20;
}

void PutFixed32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
void PutFixed64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
uint64_t GetFixed(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= uint64_t{static_cast<uint8_t>(p[i])} << (8 * i);
  return v;
}

Status Errno(const std::string& what) { return Status::Error(what + ": " + std::strerror(errno)); }

}  // namespace

std::unique_ptr<Spool> Spool::Open(const std::string& dir, bool fsync, std::vector<SpoolRecord>* replay,
                                   Status* error) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    *error = Status::Error("spool " + dir + ": " + ec.message());
    return nullptr;
  }
  std::unique_ptr<Spool> spool(new Spool(dir, fsync));
  Status s = spool->Load(replay);
  if (s.ok()) s = spool->Roll();
  if (!s.ok()) {
    *error = s;
    return nullptr;
  }
  return spool;
}

Spool::~Spool() {
  Sync().IgnoreError();
  if (file_ != nullptr) std::fclose(file_);
}

Status Spool::Load(std::vector<SpoolRecord>* replay) {
  {
    std::ifstream in(dir_ + "/acked");
    unsigned long long v = 0;
    if (in >> v) acked_ = acked_persisted_ = v;
  }
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    uint64_t first = 0;
    if (ParseSegmentName(entry.path().filename().string(), &first)) segments_.push_back(first);
  }
  if (ec) return Status::Error("spool " + dir_ + ": " + ec.message());
  std::sort(segments_.begin(), segments_.end());
  next_seq_ = std::max<uint64_t>(next_seq_, acked_ + 1);
  for (uint64_t first : segments_) {
    std::ifstream in(dir_ + "/" + SegmentName(first), std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t pos = 0;
    while (pos + 8 <= data.size()) {
      uint32_t len = static_cast<uint32_t>(GetFixed(data.data() + pos, 4));
      uint32_t hash = static_cast<uint32_t>(GetFixed(data.data() + pos + 4, 4));
      if (len < 9 || pos + 8 + len > data.size()) break;  // torn tail
      const char* payload = data.data() + pos + 8;
      if (XXH32(payload, len, 0) != hash) break;  // corrupt: the rest of the segment is not trusted
      uint64_t seq = GetFixed(payload, 8);
      if (seq > acked_) {
        replay->push_back({seq, static_cast<RequestKind>(payload[8]), std::string(payload + 9, len - 9)});
      }
      next_seq_ = std::max(next_seq_, seq + 1);
      pos += 8 + len;
    }
  }
  std::sort(replay->begin(), replay->end(), [](const auto& a, const auto& b) { return a.seq < b.seq; });
  return Status();
}

Status Spool::Roll() {
  if (file_ != nullptr) {
    if (std::fclose(file_) != 0) return Errno("spool close");
    file_ = nullptr;
  }
  std::string path = dir_ + "/" + SegmentName(next_seq_);
  file_ = std::fopen(path.c_str(), "ab");
  if (file_ == nullptr) return Errno("spool " + path);
  if (segments_.empty() || segments_.back() != next_seq_) segments_.push_back(next_seq_);
  file_bytes_ = 0;
  return Status();
}

void Spool::Add(uint64_t seq, RequestKind kind, std::string_view json) {
  uint32_t len = static_cast<uint32_t>(9 + json.size());
  size_t at = pending_.size();
  PutFixed32(&pending_, len);
  PutFixed32(&pending_, 0);  // hash, filled below
  PutFixed64(&pending_, seq);
  pending_.push_back(static_cast<char>(kind));
  pending_.append(json);
  uint32_t hash = XXH32(pending_.data() + at + 8, len, 0);
  for (int i = 0; i < 4; ++i) pending_[at + 4 + i] = static_cast<char>(hash >> (8 * i));
  next_seq_ = seq + 1;
}

Status Spool::Commit() {
  if (pending_.empty()) return Status();
  bool ok = std::fwrite(pending_.data(), 1, pending_.size(), file_) == pending_.size() && std::fflush(file_) == 0;
  file_bytes_ += pending_.size();
  pending_.clear();
  if (!ok) return Errno("spool write");
  if (fsync_ && ::fdatasync(::fileno(file_)) != 0) return Errno("spool fsync");
  if (file_bytes_ >= kSegmentBytes) return Roll();
  return Status();
}

Status Spool::Sync() {
  if (acked_ == acked_persisted_) return Status();
  std::string tmp = dir_ + "/acked.tmp";
  {
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    if (f == nullptr) return Errno("spool " + tmp);
    std::fprintf(f, "%llu\n", static_cast<unsigned long long>(acked_));
    bool ok = std::fflush(f) == 0 && (!fsync_ || ::fdatasync(::fileno(f)) == 0);
    std::fclose(f);
    if (!ok) return Errno("spool " + tmp);
  }
  if (std::rename(tmp.c_str(), (dir_ + "/acked").c_str()) != 0) return Errno("spool rename");
  acked_persisted_ = acked_;
  // Segment i holds [segments_[i], segments_[i+1]); the last one is open.
  while (segments_.size() >= 2 && segments_[1] - 1 <= acked_) {
    std::error_code ec;
    fs::remove(dir_ + "/" + SegmentName(segments_[0]), ec);
    segments_.erase(segments_.begin());
  }
  return Status();
}

}  // namespace tracedb::client::internal
