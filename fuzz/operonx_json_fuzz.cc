// Fuzz target for the operonx event JSON codec (ingest/operonx/operonx_json.h).
// Every input must parse or fail with a Status, never crash; whatever
// parses must print to JSON that parses back to the same value.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ingest/operonx/operonx_json.h"

namespace {

using namespace tracedb::ingest::operonx;  // NOLINT: fuzz harness

void Check(bool ok, const char* what, const std::string& text) {
  if (!ok) {
    std::fprintf(stderr, "operonx_json_fuzz: %s\n%s\n", what, text.c_str());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (auto e = ParseEvent(input); e.ok()) {
    const std::string printed = PrintEvent(e->request_id, e->event);
    auto back = ParseEvent(printed);
    Check(back.ok(), "printed event does not parse", printed);
    Check(*back == *e, "event does not round-trip", printed);
  }
  if (auto a = ParseEventArray(input); a.ok()) {
    std::string printed;
    AppendEventArray(*a, &printed);
    auto back = ParseEventArray(printed);
    Check(back.ok() && *back == *a, "event array does not round-trip", printed);
  }
  if (auto b = ParseBatch(input); b.ok()) {
    const std::string printed = PrintBatch(*b);
    auto back = ParseBatch(printed);
    Check(back.ok() && *back == *b, "batch does not round-trip", printed);
  }
  return 0;
}
