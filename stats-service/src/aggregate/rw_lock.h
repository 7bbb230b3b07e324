// A reader-writer lock that prefers writers, for std::unique_lock / std::shared_lock.
//
// std::shared_mutex on glibc prefers readers: a steady query load can starve the one writer
// (the subscriber applying the change stream) indefinitely. absl::Mutex would do, but Debian's
// abseil is not built for ThreadSanitizer, which then cannot see the lock. This wraps a POSIX
// rwlock of kind PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP, which both glibc and TSan know.
// Non-recursive: a thread holding it for reading must not take it for reading again.
#ifndef OBSERVER_STATS_SERVICE_SRC_AGGREGATE_RW_LOCK_H_
#define OBSERVER_STATS_SERVICE_SRC_AGGREGATE_RW_LOCK_H_

#include <pthread.h>

namespace observer::stats {

class WriterPreferringLock {
 public:
  WriterPreferringLock() {
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&lock_, &attr);
    pthread_rwlockattr_destroy(&attr);
  }
  ~WriterPreferringLock() { pthread_rwlock_destroy(&lock_); }
  WriterPreferringLock(const WriterPreferringLock&) = delete;
  WriterPreferringLock& operator=(const WriterPreferringLock&) = delete;

  void lock() { pthread_rwlock_wrlock(&lock_); }
  void unlock() { pthread_rwlock_unlock(&lock_); }
  void lock_shared() { pthread_rwlock_rdlock(&lock_); }
  void unlock_shared() { pthread_rwlock_unlock(&lock_); }

 private:
  pthread_rwlock_t lock_;
};

}  // namespace observer::stats

#endif  // OBSERVER_STATS_SERVICE_SRC_AGGREGATE_RW_LOCK_H_
