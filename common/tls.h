// Mutual TLS for both services and their clients: credentials whose key, certificate chain and
// CA bundle are read from files and re-read while the process runs (gRPC's
// FileWatcherCertificateProvider), so rotated certificates are used by new connections without
// a restart. Servers require and verify a client certificate.
#ifndef OBSERVER_COMMON_TLS_H_
#define OBSERVER_COMMON_TLS_H_

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace observer {

struct TlsFiles {
  std::string cert;  // PEM certificate chain, leaf first.
  std::string key;   // PEM private key of the leaf.
  std::string ca;    // PEM CA bundle that signs the peers' certificates.
  absl::Duration reload_interval = absl::Seconds(10);
};

// Checks that each file can be read and holds what it should: PEM certificates, an unencrypted
// PEM private key that belongs to the (unexpired) leaf certificate; the error names the flag
// (`flag_prefix` + "cert", "key", "ca").
absl::Status CheckTlsFiles(const TlsFiles& files, absl::string_view flag_prefix);

// Server side: presents `cert`, requires a client certificate signed by `ca`.
std::shared_ptr<grpc::ServerCredentials> MutualTlsServerCredentials(const TlsFiles& files);

// Client side: presents `cert`, verifies the server's certificate against `ca` and the name
// the channel is created for (or GRPC_SSL_TARGET_NAME_OVERRIDE_ARG).
std::shared_ptr<grpc::ChannelCredentials> MutualTlsChannelCredentials(const TlsFiles& files);

// Whether the host of `address` (host:port, [v6]:port) is a loopback address: 127.0.0.0/8,
// ::1 or localhost.
bool IsLoopbackAddress(absl::string_view address);

}  // namespace observer

#endif  // OBSERVER_COMMON_TLS_H_
