// Rules about an observer's personal data that the registry and its tools share.
#ifndef OBSERVER_COMMON_PERSONAL_DATA_H_
#define OBSERVER_COMMON_PERSONAL_DATA_H_

#include <string>

#include "google/protobuf/message.h"
#include "observer/registry/v1/resources.pb.h"

namespace observer {

// The identity document as compared for duplicates: type, issuing country and the number's
// letters and digits only, upper-cased.
std::string DocumentKey(const registry::v1::IdDocument& document);

// Removes the personal data (identity document, birth date, contact).
void StripPersonalData(registry::v1::Observer& observer);

// Removes the personal data of every Observer anywhere inside `message` (e.g. a response).
void StripPersonalDataWithin(google::protobuf::Message& message);

}  // namespace observer

#endif  // OBSERVER_COMMON_PERSONAL_DATA_H_
