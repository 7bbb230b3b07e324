#include "common/log.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <mutex>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace observer {
namespace {

std::atomic<LogLevel> min_level{LogLevel::kInfo};

// Guards the test sink; also keeps a line's partial writes (rare) from interleaving.
std::mutex& OutputMutex() {
  static std::mutex* const mutex = new std::mutex;
  return *mutex;
}

std::function<void(absl::string_view)>& TestSink() {
  static auto* const sink = new std::function<void(absl::string_view)>;
  return *sink;
}

void WriteToStderr(absl::string_view line) {
  while (!line.empty()) {
    const ssize_t written = ::write(STDERR_FILENO, line.data(), line.size());
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return;  // Nowhere left to report a failure to log.
    line.remove_prefix(static_cast<size_t>(written));
  }
}

// Length of the valid UTF-8 sequence at the start of `text`, or 0 if it is not one.
size_t Utf8SequenceLength(absl::string_view text) {
  const auto byte = [&text](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  size_t length;
  unsigned char min_second = 0x80;
  unsigned char max_second = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) min_second = 0xA0;  // Overlong.
    if (lead == 0xED) max_second = 0x9F;  // UTF-16 surrogates.
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) min_second = 0x90;  // Overlong.
    if (lead == 0xF4) max_second = 0x8F;  // Above U+10FFFF.
  } else {
    return 0;
  }
  if (text.size() < length) return 0;
  if (byte(1) < min_second || byte(1) > max_second) return 0;
  for (size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  }
  return length;
}

void AppendNumber(double value, std::string* out) {
  // JSON has no NaN or infinity.
  if (!std::isfinite(value)) {
    out->append("null");
    return;
  }
  char buffer[32];
  // The shortest text that reads back as the same double.
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out->append(buffer, result.ptr);
}

void AppendValue(const LogField::Value& value, std::string* out) {
  if (const auto* text = std::get_if<absl::string_view>(&value)) {
    AppendJsonString(*text, out);
  } else if (const auto* signed_number = std::get_if<int64_t>(&value)) {
    absl::StrAppend(out, *signed_number);
  } else if (const auto* unsigned_number = std::get_if<uint64_t>(&value)) {
    absl::StrAppend(out, *unsigned_number);
  } else if (const auto* real = std::get_if<double>(&value)) {
    AppendNumber(*real, out);
  } else {
    out->append(std::get<bool>(value) ? "true" : "false");
  }
}

}  // namespace

void SetLogLevel(LogLevel level) { min_level.store(level, std::memory_order_relaxed); }

LogLevel GetLogLevel() { return min_level.load(std::memory_order_relaxed); }

bool LogEnabled(LogLevel level) { return level >= GetLogLevel(); }

bool ParseLogLevel(absl::string_view text, LogLevel* level) {
  const std::string lower = absl::AsciiStrToLower(text);
  if (lower == "debug") {
    *level = LogLevel::kDebug;
  } else if (lower == "info") {
    *level = LogLevel::kInfo;
  } else if (lower == "warning" || lower == "warn") {
    *level = LogLevel::kWarning;
  } else if (lower == "error") {
    *level = LogLevel::kError;
  } else {
    return false;
  }
  return true;
}

absl::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "unknown";
}

void AppendJsonString(absl::string_view text, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  while (!text.empty()) {
    const unsigned char c = static_cast<unsigned char>(text[0]);
    if (c >= 0x80) {
      const size_t length = Utf8SequenceLength(text);
      if (length == 0) {
        out->append("\\ufffd");
        text.remove_prefix(1);
      } else {
        out->append(text.data(), length);
        text.remove_prefix(length);
      }
      continue;
    }
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out->append("\\u00");
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 0xf]);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
    text.remove_prefix(1);
  }
  out->push_back('"');
}

void Log(LogLevel level, absl::string_view msg, absl::Span<const LogField> fields) {
  if (!LogEnabled(level)) return;
  std::string line;
  line.reserve(96 + msg.size() + 32 * fields.size());
  absl::StrAppend(&line, "{\"ts\":\"",
                  absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()),
                  "\",\"level\":\"", LogLevelName(level), "\",\"msg\":");
  AppendJsonString(msg, &line);
  for (const LogField& field : fields) {
    line.push_back(',');
    AppendJsonString(field.key(), &line);
    line.push_back(':');
    AppendValue(field.value(), &line);
  }
  line.append("}\n");

  std::lock_guard<std::mutex> lock(OutputMutex());
  if (TestSink()) {
    TestSink()(line);
  } else {
    WriteToStderr(line);
  }
}

void SetLogSinkForTesting(std::function<void(absl::string_view line)> sink) {
  std::lock_guard<std::mutex> lock(OutputMutex());
  TestSink() = std::move(sink);
}

}  // namespace observer
