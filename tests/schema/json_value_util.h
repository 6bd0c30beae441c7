#pragma once

// Test support: compares two JSON texts as JSON values (object key order
// ignored; numbers compared by kind, integer vs float, and value).

#include <string>
#include <string_view>

namespace tracedb::schema::testing {

// True when `a` and `b` parse and are equal JSON values. On false, *why
// (when non-null) says where they differ or which side failed to parse.
bool JsonEqual(std::string_view a, std::string_view b, std::string* why);

// Reads the lines of a file under TRACEDB_SHARED_DIR (empty lines skipped).
std::string ReadSharedFile(const std::string& relative_path);

}  // namespace tracedb::schema::testing
