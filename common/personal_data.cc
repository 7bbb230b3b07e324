#include "common/personal_data.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace observer {

std::string DocumentKey(const registry::v1::IdDocument& document) {
  std::string number;
  for (char c : document.number()) {
    if (absl::ascii_isalnum(c)) number.push_back(absl::ascii_toupper(c));
  }
  return absl::StrCat(static_cast<int>(document.type()), ":", document.issuing_country(), ":",
                      number);
}

void StripPersonalData(registry::v1::Observer& observer) {
  observer.clear_birth_date();
  observer.clear_id_document();
  observer.clear_contact();
}

void StripPersonalDataWithin(google::protobuf::Message& message) {
  if (auto* observer = dynamic_cast<registry::v1::Observer*>(&message)) {
    StripPersonalData(*observer);
    return;
  }
  const google::protobuf::Reflection* reflection = message.GetReflection();
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const google::protobuf::FieldDescriptor* field : fields) {
    if (field->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (field->is_repeated()) {
      for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
        StripPersonalDataWithin(*reflection->MutableRepeatedMessage(&message, field, i));
      }
    } else {
      StripPersonalDataWithin(*reflection->MutableMessage(&message, field));
    }
  }
}

}  // namespace observer
