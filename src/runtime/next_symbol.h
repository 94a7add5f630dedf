// NextSymbol: the definition of a libc function that comes after this library in the lookup
// order (what the program would have called without the runtime), for the interposed
// functions that hand over to it.
#pragma once

#include <dlfcn.h>

namespace cove::runtime {

// nullptr when there is none.
template <typename Fn>
Fn NextSymbol(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
}

}  // namespace cove::runtime
