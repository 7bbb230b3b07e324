#include "common/errors.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/proto_time.h"
#include "google/rpc/error_details.pb.h"

namespace observer {
namespace {

constexpr absl::string_view kErrorInfoUrl = "type.googleapis.com/google.rpc.ErrorInfo";
constexpr absl::string_view kBadRequestUrl = "type.googleapis.com/google.rpc.BadRequest";
constexpr absl::string_view kRetryInfoUrl = "type.googleapis.com/google.rpc.RetryInfo";

}  // namespace

absl::Status Violations::ToStatus() const {
  if (list_.empty()) return absl::OkStatus();
  std::vector<std::string> parts;
  parts.reserve(list_.size());
  for (const auto& v : list_) parts.push_back(absl::StrCat(v.field, ": ", v.description));
  return MakeError(absl::StatusCode::kInvalidArgument, reason::kValidationFailed,
                   absl::StrJoin(parts, "; "), {}, list_);
}

absl::Status MakeError(absl::StatusCode code, absl::string_view reason, absl::string_view message,
                       const std::map<std::string, std::string>& metadata,
                       const std::vector<FieldViolation>& violations) {
  absl::Status status(code, message);
  google::rpc::ErrorInfo info;
  info.set_reason(std::string(reason));
  info.set_domain(std::string(kErrorDomain));
  for (const auto& [k, v] : metadata) (*info.mutable_metadata())[k] = v;
  status.SetPayload(kErrorInfoUrl, absl::Cord(info.SerializeAsString()));
  if (!violations.empty()) {
    google::rpc::BadRequest bad;
    for (const auto& v : violations) {
      auto* fv = bad.add_field_violations();
      fv->set_field(v.field);
      fv->set_description(v.description);
    }
    status.SetPayload(kBadRequestUrl, absl::Cord(bad.SerializeAsString()));
  }
  return status;
}

absl::Status WithRetryDelay(absl::Status status, absl::Duration delay) {
  google::rpc::RetryInfo info;
  *info.mutable_retry_delay() = ToProto(delay);
  status.SetPayload(kRetryInfoUrl, absl::Cord(info.SerializeAsString()));
  return status;
}

absl::Status InvalidField(absl::string_view field, absl::string_view description) {
  Violations v;
  v.Add(std::string(field), std::string(description));
  return v.ToStatus();
}

ErrorDetails GetErrorDetails(const absl::Status& status) {
  ErrorDetails details;
  if (auto payload = status.GetPayload(kErrorInfoUrl)) {
    google::rpc::ErrorInfo info;
    if (info.ParseFromString(std::string(*payload))) {
      details.reason = info.reason();
      for (const auto& [k, v] : info.metadata()) details.metadata[k] = v;
    }
  }
  if (auto payload = status.GetPayload(kBadRequestUrl)) {
    google::rpc::BadRequest bad;
    if (bad.ParseFromString(std::string(*payload))) {
      for (const auto& fv : bad.field_violations()) {
        details.violations.push_back({fv.field(), fv.description()});
      }
    }
  }
  if (auto payload = status.GetPayload(kRetryInfoUrl)) {
    google::rpc::RetryInfo info;
    if (info.ParseFromString(std::string(*payload))) {
      details.retry_delay = FromProto(info.retry_delay());
    }
  }
  return details;
}

absl::Status PrefixFields(const absl::Status& status, absl::string_view prefix) {
  if (status.ok()) return status;
  ErrorDetails d = GetErrorDetails(status);
  if (d.reason.empty()) return status;
  std::string message(status.message());
  for (auto& v : d.violations) {
    v.field = absl::StrCat(prefix, ".", v.field);
  }
  if (!d.violations.empty()) message = absl::StrCat(prefix, ": ", message);
  absl::Status prefixed = MakeError(status.code(), d.reason, message, d.metadata, d.violations);
  return d.retry_delay ? WithRetryDelay(std::move(prefixed), *d.retry_delay) : prefixed;
}

}  // namespace observer
