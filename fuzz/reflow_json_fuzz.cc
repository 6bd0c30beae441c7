// Fuzz target for the Reflow protocol JSON codec (ingest/reflow/reflow_json.h).
// Every input must parse or fail with a Status, never crash; whatever
// parses must print to JSON that parses again and prints identically
// (print(parse(print(parse(x)))) == print(parse(x))). What the canonical
// RecordEvent fast path (reflow_fast.h) accepts, the general parser must
// accept with the same value.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ingest/reflow/reflow_fast.h"
#include "ingest/reflow/reflow_json.h"

namespace {

using namespace tracedb::ingest::reflow;  // NOLINT: fuzz harness

void Check(bool ok, const char* what, const std::string& text) {
  if (!ok) {
    std::fprintf(stderr, "reflow_json_fuzz: %s\n%s\n", what, text.c_str());
    std::abort();
  }
}

template <typename Parse, typename Print>
void RoundTrip(std::string_view input, Parse parse, Print print) {
  auto first = parse(input);
  if (!first.ok()) return;
  const std::string printed = print(*first);
  auto second = parse(printed);
  Check(second.ok(), "printed output does not parse", printed);
  Check(print(*second) == printed, "printed output is not a fixed point", printed);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (RecordEvent fast; ParseCanonicalRecordEvent(input, &fast)) {
    auto general = ParseTracingRequest(input);
    Check(general.ok(), "the fast path accepts what the general parser rejects", std::string(input));
    Check(*general == TracingRequest(fast), "the fast path and the general parser disagree", std::string(input));
  }
  RoundTrip(input, [](std::string_view s) { return ParseRequest(s); },
            [](const Request& r) { return PrintRequest(r); });
  RoundTrip(input, [](std::string_view s) { return ParseResponse(s); },
            [](const Response& r) { return PrintResponse(r); });
  RoundTrip(input, [](std::string_view s) { return ParseTrace(s); },
            [](const tracedb::schema::Trace& t) { return PrintTrace(t); });
  RoundTrip(input, [](std::string_view s) { return ParseEvent(s); },
            [](const tracedb::schema::Event& e) { return PrintEvent(e); });
  return 0;
}
