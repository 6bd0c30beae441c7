#pragma once

// UUID text forms as the Rust `uuid` crate (1.x) reads and writes them.
//
// Accepted on input (hex digits in either case):
//   hyphenated  xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx   (36 chars)
//   simple      32 hex digits
//   braced      {hyphenated}
//   urn         urn:uuid:hyphenated                      ("urn:uuid:" lower case)
// Written: lowercase hyphenated, 36 chars.

#include <string>
#include <string_view>

#include "common/result.h"
#include "schema/model.h"

namespace tracedb::schema {

// Parses `text` in one of the accepted forms into *out (RFC 4122 byte order).
// Returns false, leaving *out unspecified, when the text is not a UUID.
// Thread-safe; no allocation.
bool ParseUuid(std::string_view text, Id128* out);

// As above, with an InvalidArgument status naming the text on failure.
Result<Id128> ParseUuid(std::string_view text);

// Writes the 36-char lowercase hyphenated form of `id` to buf[0..36).
void FormatUuid(const Id128& id, char* buf);

// Appends the 36-char lowercase hyphenated form of `id` to *out.
void AppendUuid(const Id128& id, std::string* out);

// Returns the 36-char lowercase hyphenated form of `id`.
std::string FormatUuid(const Id128& id);

}  // namespace tracedb::schema
