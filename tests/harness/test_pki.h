// A throwaway PKI for the mutual-TLS tests: certificates made at test time by the project's own
// scripts/make-dev-certs.sh into a directory the test owns (never committed), the flags that
// give a service its certificate, and client channels that present a certificate.
//
//   TempDir dir;
//   TestPki pki(dir.Join("pki"));
//   ASSERT_OK(pki.Issue({"registry:localhost", "registrar"}));
//   RegistryProcess registry(dir.path(), pki.ServerFlags("registry", policy_path));
//   ASSERT_OK(registry.Start());
//   auto channel = MUST(pki.Channel(registry.address(), "registrar"));
//
// Every identity NAME gets the SAN URI spiffe://DOMAIN/NAME (its identity in the policy) plus
// the DNS names given; servers are issued for "localhost", which clients check (the target
// name override), since the tests connect to 127.0.0.1.
#ifndef OBSERVER_TESTS_HARNESS_TEST_PKI_H_
#define OBSERVER_TESTS_HARNESS_TEST_PKI_H_

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace observer::testing {

// Path of scripts/make-dev-certs.sh: $MAKE_DEV_CERTS_SCRIPT if set, else the one in the source
// tree CMake compiled in ("" if none).
std::string MakeDevCertsScript();

// The contents of `path`.
absl::StatusOr<std::string> ReadFileToString(const std::string& path);
// Writes `contents` to a temporary file beside `path` and renames it over `path`, so a reader
// sees the old or the new contents, never a mix.
absl::Status WriteFileAtomically(const std::string& path, const std::string& contents);

// What a client presents and trusts. Empty cert/key: no client certificate.
struct TlsClientConfig {
  std::string ca_pem;                     // Verifies the server's certificate.
  std::string cert_pem;                   // The client's certificate chain ("" for none).
  std::string key_pem;                    // Its private key ("" for none).
  std::string server_name = "localhost";  // Checked against the server's certificate.
};

// A channel over TLS to `address` with its own connection (a local subchannel pool, so two
// channels never share one connection and its handshake).
std::shared_ptr<grpc::Channel> TlsChannel(const std::string& address,
                                          const TlsClientConfig& config);
// A plaintext channel with its own connection.
std::shared_ptr<grpc::Channel> PlaintextChannel(const std::string& address);

// The server certificate (PEM) a finished or started call was answered with: the
// "x509_pem_cert" property of the call's auth context ("" if none, e.g. plaintext).
std::string PeerCertificatePem(const grpc::ClientContext& context);

class TestPki {
 public:
  // A PKI in `dir` (created on the first Issue, with its CA) for SPIFFE IDs of `domain`.
  explicit TestPki(std::string dir, std::string domain = "observer.test");

  // Issues a key and certificate for each "NAME[:dns1,dns2]" with make-dev-certs.sh, valid
  // `days` days (0: already expired). The CA is made on the first call and reused after.
  absl::Status Issue(const std::vector<std::string>& specs, int days = 30,
                     absl::Duration timeout = absl::Seconds(60));

  const std::string& dir() const { return dir_; }
  const std::string& domain() const { return domain_; }
  std::string ca_path() const { return dir_ + "/ca.pem"; }
  std::string cert_path(const std::string& name) const { return dir_ + "/" + name + ".pem"; }
  std::string key_path(const std::string& name) const { return dir_ + "/" + name + ".key"; }
  // spiffe://DOMAIN/NAME: the identity the services see for NAME's certificate.
  std::string SpiffeId(const std::string& name) const;

  // --tls-cert/--tls-key/--tls-ca for a service presenting NAME's certificate, followed by
  // --authz-policy `policy_path` unless it is empty.
  std::vector<std::string> ServerFlags(const std::string& name,
                                       const std::string& policy_path = "") const;

  // A client presenting NAME's certificate and trusting this PKI's CA ("" as NAME: no client
  // certificate).
  absl::StatusOr<TlsClientConfig> ClientConfig(const std::string& name) const;
  // TlsChannel(address, ClientConfig(name)).
  absl::StatusOr<std::shared_ptr<grpc::Channel>> Channel(const std::string& address,
                                                         const std::string& name) const;

 private:
  const std::string dir_;
  const std::string domain_;
};

}  // namespace observer::testing

#endif  // OBSERVER_TESTS_HARNESS_TEST_PKI_H_
