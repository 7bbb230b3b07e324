#include "common/thread_name.h"

#include <pthread.h>

#include <string>

namespace observer {

void SetCurrentThreadName(const char* name) {
  // Linux refuses names of 16 bytes or more (with the terminator) instead of cutting them.
  const std::string cut = std::string(name).substr(0, 15);
  pthread_setname_np(pthread_self(), cut.c_str());
}

}  // namespace observer
