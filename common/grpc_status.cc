#include "common/grpc_status.h"

#include <string>

#include "absl/strings/ascii.h"
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
  for (const auto& any : proto.details()) {
    google::rpc::ErrorInfo info;
    google::rpc::BadRequest bad;
    if (any.UnpackTo(&info)) {
      reason = info.reason();
      for (const auto& [k, v] : info.metadata()) metadata[k] = v;
    } else if (any.UnpackTo(&bad)) {
      for (const auto& fv : bad.field_violations()) {
        violations.push_back({fv.field(), fv.description()});
      }
    }
  }
  if (reason.empty()) return absl::Status(code, status.error_message());
  return MakeError(code, reason, status.error_message(), metadata, violations);
}

}  // namespace observer
