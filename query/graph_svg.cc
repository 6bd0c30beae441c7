// GraphSvg: Graphviz's dot as a child process (why: query/graph.h).

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "query/graph.h"

namespace tracedb::query {

Result<std::string> GraphSvg(const std::string& dot_text) {
  const char* tmp = std::getenv("TMPDIR");
  std::string path = std::string(tmp && *tmp ? tmp : "/tmp") + "/tracedb-graph-XXXXXX";
  int fd = mkstemp(path.data());
  if (fd < 0) return Status::Internal("cannot create a temporary file for Graphviz");
  bool written = ::write(fd, dot_text.data(), dot_text.size()) == static_cast<ssize_t>(dot_text.size());
  ::close(fd);
  if (!written) {
    ::unlink(path.c_str());
    return Status::Internal("cannot write the graph for Graphviz");
  }
  // The only interpolated text is the mkstemp path (no shell metacharacters).
  std::string command = "timeout " + std::to_string(kSvgTimeoutSeconds) + " dot -Tsvg < '" + path + "' 2>/dev/null";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) {
    ::unlink(path.c_str());
    return Status::Internal("cannot start Graphviz's dot");
  }
  std::string svg;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) svg.append(buf, n);
  int status = ::pclose(pipe);
  ::unlink(path.c_str());
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (code == 127) {
    return Status::Unavailable("SVG needs Graphviz's dot on the server's PATH (Debian: apt-get install graphviz); "
                               "format=dot gives the graph to lay out elsewhere");
  }
  if (code == 124) return Status::Unavailable("Graphviz took longer than " + std::to_string(kSvgTimeoutSeconds) + " s");
  if (code != 0 || svg.empty()) return Status::Internal("Graphviz's dot failed (exit " + std::to_string(code) + ")");
  return svg;
}

}  // namespace tracedb::query
