// Structured logging: one JSON object per line on stderr, e.g.
//   {"ts":"2026-11-28T20:00:00.123Z","level":"info","msg":"listening","port":50051}
// Safe to call from any thread: each line is written whole, by one write(2) under a lock, so
// lines from different threads never interleave.
#ifndef OBSERVER_COMMON_LOG_H_
#define OBSERVER_COMMON_LOG_H_

#include <concepts>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace observer {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

// Lines below `level` are dropped. The default is kInfo.
void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
// True when a line at `level` would be written; lets callers skip building costly fields.
bool LogEnabled(LogLevel level);

// "debug", "info", "warning" (or "warn"), "error", in any case. False for anything else.
bool ParseLogLevel(absl::string_view text, LogLevel* level);
// The lower-case name written in the "level" field.
absl::string_view LogLevelName(LogLevel level);

// One key/value pair of a line. It refers to the caller's strings, so it must not outlive the
// Log call (the usual `Log(..., {{"key", value}})` form is fine). Strings are JSON-escaped;
// invalid UTF-8 becomes U+FFFD. Numbers and booleans are written unquoted; a NaN or infinite
// double is written as null.
class LogField {
 public:
  using Value = std::variant<absl::string_view, int64_t, uint64_t, double, bool>;

  LogField(absl::string_view key, absl::string_view value) : key_(key), value_(value) {}
  LogField(absl::string_view key, const char* value)
      : key_(key), value_(absl::string_view(value)) {}
  LogField(absl::string_view key, const std::string& value)
      : key_(key), value_(absl::string_view(value)) {}
  LogField(absl::string_view key, std::string_view value)
      : key_(key), value_(absl::string_view(value.data(), value.size())) {}
  LogField(absl::string_view key, bool value) : key_(key), value_(value) {}
  LogField(absl::string_view key, double value) : key_(key), value_(value) {}
  template <std::signed_integral T>
  LogField(absl::string_view key, T value) : key_(key), value_(static_cast<int64_t>(value)) {}
  template <std::unsigned_integral T>
  requires(!std::same_as<T, bool>) LogField(absl::string_view key, T value)
      : key_(key), value_(static_cast<uint64_t>(value)) {}

  absl::string_view key() const { return key_; }
  const Value& value() const { return value_; }

 private:
  absl::string_view key_;
  Value value_;
};

// Writes one line when `level` is enabled. Field keys should not repeat "ts", "level" or "msg".
void Log(LogLevel level, absl::string_view msg, absl::Span<const LogField> fields = {});

inline void LogDebug(absl::string_view msg, std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kDebug, msg, fields);
}
inline void LogInfo(absl::string_view msg, std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kInfo, msg, fields);
}
inline void LogWarning(absl::string_view msg, std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kWarning, msg, fields);
}
inline void LogError(absl::string_view msg, std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kError, msg, fields);
}

// Appends `text` to `out` as a quoted JSON string.
void AppendJsonString(absl::string_view text, std::string* out);

// Sends each finished line (ending in '\n') to `sink` instead of stderr; an empty function
// restores stderr. Calls to the sink are serialised.
void SetLogSinkForTesting(std::function<void(absl::string_view line)> sink);

}  // namespace observer

#endif  // OBSERVER_COMMON_LOG_H_
