#pragma once
// Every misuse of tapegrad throws tapegrad::Error, whose message starts with the
// op or tool's name and names the shapes or values involved.
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace tapegrad {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// fail("matmul", ": inner dimensions differ: ", shape_str(a), " x ", shape_str(b))
template <class... Parts>
[[noreturn]] void fail(Parts&&... parts) {
  std::ostringstream os;
  (os << ... << std::forward<Parts>(parts));
  throw Error(os.str());
}

}  // namespace tapegrad
