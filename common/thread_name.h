// Names the calling thread as `top -H`, perf and gdb show it (at most 15 characters; longer
// names are cut).
#ifndef OBSERVER_COMMON_THREAD_NAME_H_
#define OBSERVER_COMMON_THREAD_NAME_H_

namespace observer {

void SetCurrentThreadName(const char* name);

}  // namespace observer

#endif  // OBSERVER_COMMON_THREAD_NAME_H_
