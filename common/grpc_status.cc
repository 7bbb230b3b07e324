#include "common/grpc_status.h"

#include <optional>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/time/time.h"
#include "common/proto_time.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace observer {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  ErrorDetails d = GetErrorDetails(status);
  if (d.reason.empty()) {
    d.reason = absl::AsciiStrToUpper(absl::StatusCodeToString(status.code()));
    for (char& c : d.reason) {
      if (c == ' ') c = '_';
    }
  }
  google::rpc::Status proto;
  proto.set_code(static_cast<int>(status.code()));
  proto.set_message(std::string(status.message()));
  google::rpc::ErrorInfo info;
  info.set_reason(d.reason);
  info.set_domain(std::string(kErrorDomain));
  for (const auto& [k, v] : d.metadata) (*info.mutable_metadata())[k] = v;
  proto.add_details()->PackFrom(info);
  if (!d.violations.empty()) {
    google::rpc::BadRequest bad;
    for (const auto& v : d.violations) {
      auto* fv = bad.add_field_violations();
      fv->set_field(v.field);
      fv->set_description(v.description);
    }
    proto.add_details()->PackFrom(bad);
  }
  if (d.retry_delay) {
    google::rpc::RetryInfo retry;
    *retry.mutable_retry_delay() = ToProto(*d.retry_delay);
    proto.add_details()->PackFrom(retry);
  }
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()),
                      proto.SerializeAsString());
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  auto code = static_cast<absl::StatusCode>(status.error_code());
  google::rpc::Status proto;
  if (status.error_details().empty() || !proto.ParseFromString(status.error_details())) {
    return absl::Status(code, status.error_message());
  }
  std::string reason;
  std::map<std::string, std::string> metadata;
  std::vector<FieldViolation> violations;
  std::optional<absl::Duration> retry_delay;
  for (const auto& any : proto.details()) {
    google::rpc::ErrorInfo info;
    google::rpc::BadRequest bad;
    google::rpc::RetryInfo retry;
    if (any.UnpackTo(&info)) {
      reason = info.reason();
      for (const auto& [k, v] : info.metadata()) metadata[k] = v;
    } else if (any.UnpackTo(&bad)) {
      for (const auto& fv : bad.field_violations()) {
        violations.push_back({fv.field(), fv.description()});
      }
    } else if (any.UnpackTo(&retry)) {
      retry_delay = FromProto(retry.retry_delay());
    }
  }
  if (reason.empty()) return absl::Status(code, status.error_message());
  absl::Status result = MakeError(code, reason, status.error_message(), metadata, violations);
  return retry_delay ? WithRetryDelay(std::move(result), *retry_delay) : result;
}

}  // namespace observer
