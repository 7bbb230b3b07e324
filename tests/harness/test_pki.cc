#include "tests/harness/test_pki.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/auth_context.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "tests/harness/command.h"
#include "tests/harness/service_process.h"

namespace observer::testing {

std::string MakeDevCertsScript() {
#ifdef MAKE_DEV_CERTS_SCRIPT
  return BinaryPath("MAKE_DEV_CERTS_SCRIPT", MAKE_DEV_CERTS_SCRIPT);
#else
  return BinaryPath("MAKE_DEV_CERTS_SCRIPT", "");
#endif
}

absl::StatusOr<std::string> ReadFileToString(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::Status WriteFileAtomically(const std::string& path, const std::string& contents) {
  const std::string temp = absl::StrCat(path, ".tmp-", getpid());
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", temp));
    out << contents;
    out.close();
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", temp));
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(
        absl::StrCat("rename ", temp, " -> ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

std::shared_ptr<grpc::Channel> TlsChannel(const std::string& address,
                                          const TlsClientConfig& config) {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = config.ca_pem;
  ssl.pem_cert_chain = config.cert_pem;
  ssl.pem_private_key = config.key_pem;
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  if (!config.server_name.empty()) args.SetSslTargetNameOverride(config.server_name);
  return grpc::CreateCustomChannel(address, grpc::SslCredentials(ssl), args);
}

std::shared_ptr<grpc::Channel> PlaintextChannel(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

std::string PeerCertificatePem(const grpc::ClientContext& context) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr) return "";
  std::vector<grpc::string_ref> values = auth->FindPropertyValues("x509_pem_cert");
  if (values.empty()) return "";
  return std::string(values.front().data(), values.front().size());
}

TestPki::TestPki(std::string dir, std::string domain)
    : dir_(std::move(dir)), domain_(std::move(domain)) {}

std::string TestPki::SpiffeId(const std::string& name) const {
  return absl::StrCat("spiffe://", domain_, "/", name);
}

absl::Status TestPki::Issue(const std::vector<std::string>& specs, int days,
                            absl::Duration timeout) {
  const std::string script = MakeDevCertsScript();
  if (script.empty()) {
    return absl::FailedPreconditionError(
        "make-dev-certs.sh unknown: set MAKE_DEV_CERTS_SCRIPT or build with CMake");
  }
  std::vector<std::string> argv = {"/bin/bash", script, dir_};
  argv.insert(argv.end(), {"--domain", domain_, "--days", absl::StrCat(days)});
  argv.insert(argv.end(), specs.begin(), specs.end());
  CommandOptions options;
  options.timeout = timeout;
  absl::StatusOr<CommandResult> run = RunCommand(argv, options);
  if (!run.ok()) return run.status();
  if (run->exit_code() != 0) {
    return absl::InternalError(absl::StrCat("make-dev-certs.sh failed: ", run->Describe()));
  }
  return absl::OkStatus();
}

std::vector<std::string> TestPki::ServerFlags(const std::string& name,
                                              const std::string& policy_path) const {
  std::vector<std::string> flags = {"--tls-cert",   cert_path(name), "--tls-key",
                                    key_path(name), "--tls-ca",      ca_path()};
  if (!policy_path.empty()) {
    flags.push_back("--authz-policy");
    flags.push_back(policy_path);
  }
  return flags;
}

absl::StatusOr<TlsClientConfig> TestPki::ClientConfig(const std::string& name) const {
  TlsClientConfig config;
  absl::StatusOr<std::string> ca = ReadFileToString(ca_path());
  if (!ca.ok()) return ca.status();
  config.ca_pem = *std::move(ca);
  if (!name.empty()) {
    absl::StatusOr<std::string> cert = ReadFileToString(cert_path(name));
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadFileToString(key_path(name));
    if (!key.ok()) return key.status();
    config.cert_pem = *std::move(cert);
    config.key_pem = *std::move(key);
  }
  return config;
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> TestPki::Channel(const std::string& address,
                                                                const std::string& name) const {
  absl::StatusOr<TlsClientConfig> config = ClientConfig(name);
  if (!config.ok()) return config.status();
  return TlsChannel(address, *config);
}

}  // namespace observer::testing
