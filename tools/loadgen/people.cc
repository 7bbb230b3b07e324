#include "tools/loadgen/people.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace observer::loadgen {
namespace {

// How a family name takes its feminine form: the first rule whose suffix matches is applied
// to the native form (then transliterated); no match leaves the name as it is.
using FeminineRules = std::vector<std::pair<std::string, std::string>>;

struct CountryNames {
  std::string code;
  // Space-separated lists, native script (Latin with the country's diacritics).
  const char* male;
  const char* female;
  const char* family;
  FeminineRules feminine;
  bool two_family_names = false;  // Spanish: father's and mother's first family names.
};

const FeminineRules kOvEvIn = {{"ov", "ova"}, {"ev", "eva"}, {"in", "ina"}, {"sky", "skaya"}};
const FeminineRules kOvEv = {{"ov", "ova"}, {"ev", "eva"}};

// The lists: common names of each country (a few dozen each), written for this tool.
const std::vector<CountryNames>& Countries() {
  static const auto* countries = new std::vector<CountryNames>{
      {"DE",
       "Lukas Jonas Leon Finn Paul Felix Maximilian Elias Jan Tobias Stefan Michael Thomas "
       "Andreas Markus Jürgen Matthias Sebastian",
       "Anna Lena Marie Sophie Laura Julia Katharina Sabine Ute Petra Claudia Lea Hannah Jana "
       "Jessica Birgit Mia Greta",
       "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch "
       "Bauer Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann "
       "Hartmann Lange Werner Krause Köhler",
       {}},
      {"FR",
       "Jean Pierre Michel Philippe Nicolas François Julien Thomas Antoine Olivier Sébastien "
       "Mathieu Luc Hugo Louis Étienne Gérard Benoît",
       "Marie Nathalie Isabelle Sylvie Catherine Sophie Camille Élodie Julie Céline Chloé Manon "
       "Léa Aurélie Hélène Claire Inès Margaux",
       "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent "
       "Lefèvre Michel Garcia David Bertrand Roux Vincent Fournier Morel Girard André Lefebvre "
       "Mercier Dupont Lambert Bonnet Fontaine Rousseau",
       {}},
      {"GB",
       "Oliver George Harry Jack James William Thomas Charles Daniel David Richard Edward "
       "Samuel Henry Matthew Andrew Christopher Alexander",
       "Olivia Amelia Emily Charlotte Sophie Jessica Elizabeth Grace Lucy Hannah Rebecca Sarah "
       "Victoria Eleanor Alice Catherine Rachel Helen",
       "Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson "
       "Thompson Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson "
       "Wood Turner Cooper Hill O'Brien",
       {}},
      {"IT",
       "Marco Giuseppe Giovanni Luca Andrea Francesco Alessandro Matteo Lorenzo Davide Stefano "
       "Roberto Paolo Antonio Simone Federico Niccolò Fabio",
       "Giulia Francesca Chiara Sara Martina Alessia Valentina Elena Silvia Laura Anna Federica "
       "Paola Roberta Sofia Aurora Beatrice Ilaria",
       "Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Bruno Gallo Conti "
       "Mancini Costa Giordano Rizzo Lombardi Moretti Barbieri Fontana Santoro Mariani Rinaldi "
       "Caruso Ferrara Galli D'Angelo",
       {}},
      {"ES",
       "Antonio José Manuel Francisco David Juan Javier Daniel Carlos Jesús Alejandro Miguel "
       "Rafael Pablo Sergio Álvaro Fernando Jorge",
       "María Carmen Ana Isabel Laura Lucía Cristina Marta Elena Pilar Paula Sara Raquel Rocío "
       "Beatriz Nuria Silvia Alba",
       "García Rodríguez González Fernández López Martínez Sánchez Pérez Gómez Martín Jiménez "
       "Ruiz Hernández Díaz Moreno Muñoz Álvarez Romero Alonso Gutiérrez Navarro Torres "
       "Domínguez Vázquez Ramos Gil Serrano Blanco",
       {},
       /*two_family_names=*/true},
      {"PL",
       "Piotr Krzysztof Andrzej Tomasz Paweł Michał Marcin Jakub Adam Łukasz Grzegorz Mateusz "
       "Wojciech Kamil Marek Jan Bartosz Rafał",
       "Anna Katarzyna Maria Małgorzata Agnieszka Barbara Ewa Magdalena Joanna Aleksandra "
       "Monika Zofia Natalia Karolina Dorota Julia Beata Agata",
       "Nowak Kowalski Wiśniewski Wójcik Kowalczyk Kamiński Lewandowski Zieliński Szymański "
       "Woźniak Dąbrowski Kozłowski Jankowski Mazur Kwiatkowski Krawczyk Piotrowski Grabowski "
       "Nowakowski Pawłowski Michalski Wróbel Zając Król Wieczorek Jabłoński Majewski "
       "Olszewski Nowicki",
       {{"ki", "ka"}}},
      {"RU",
       "Aleksandr Sergei Dmitrii Andrei Aleksei Maksim Evgenii Ivan Mikhail Artem Nikolai "
       "Vladimir Pavel Roman Igor Oleg Denis Viktor",
       "Elena Olga Tatiana Natalia Irina Anna Svetlana Mariia Ekaterina Iuliia Anastasiia Daria "
       "Marina Liudmila Galina Valentina Kseniia Polina",
       "Ivanov Smirnov Kuznetsov Popov Vasilev Petrov Sokolov Mikhailov Novikov Fedorov "
       "Morozov Volkov Alekseev Lebedev Semenov Egorov Pavlov Kozlov Stepanov Nikolaev Orlov "
       "Andreev Makarov Nikitin Zakharov Zaitsev Solovev Borisov Belov Golubev Kovalevsky",
       kOvEvIn},
      {"BY",
       "Aliaksandr Siarhei Andrei Dzmitry Uladzimir Pavel Mikalai Aliaksei Ivan Viktar Yauhen "
       "Maksim Artsiom Raman Ihar Vadzim Kanstantsin Anton",
       "Natallia Volha Tatsiana Alena Iryna Maryna Sviatlana Hanna Yuliya Katsiaryna Darya "
       "Anastasiya Liudmila Halina Alesia Palina Veranika Kseniya",
       "Kavalenka Novik Zhuk Kuzmich Makarevich Lukashevich Shauchenka Bandarenka Kazlou Ivanou "
       "Marozau Navitski Karpovich Sidarenka Hrynevich Tkachou Pashkevich Barysenka Rudzko "
       "Vasilevich Lapitski Klimovich Savitski Hurski",
       {{"ou", "ova"}, {"au", "ava"}, {"ski", "skaya"}}},
      {"UA",
       "Oleksandr Andrii Dmytro Serhii Volodymyr Mykola Ivan Vasyl Yurii Oleh Taras Bohdan "
       "Maksym Viktor Petro Ihor Roman Mykhailo",
       "Olena Nataliia Tetiana Iryna Oksana Kateryna Yuliia Svitlana Halyna Liudmyla Anna "
       "Mariia Viktoriia Olha Khrystyna Sofiia Daryna Nadiia",
       "Shevchenko Kovalenko Bondarenko Tkachenko Kravchenko Oliinyk Melnyk Shevchuk Kovalchuk "
       "Polishchuk Lysenko Marchenko Rudenko Savchenko Petrenko Moroz Kravets Boiko Tkachuk "
       "Ponomarenko Kovalskyi Vasylenko Pavlenko Kozak Levchenko Humeniuk Ivanov Koval",
       {{"skyi", "ska"}, {"ov", "ova"}, {"ev", "eva"}}},
      {"KG",
       "Azamat Bakyt Nurlan Almaz Ernis Talant Kanat Urmat Daniiar Erlan Tilek Aibek Nurbek "
       "Bektur Marat Askar Chyngyz Ulan",
       "Aigul Gulnara Aizhan Cholpon Nazira Aida Ainura Asel Begimai Dinara Elnura Zhyldyz "
       "Mairam Gulzat Aidai Kanykei Saltanat Meerim",
       "Asanov Usenov Sadyrov Mamytov Abdyldaev Toktogulov Osmonov Zhumabaev Bakirov Kadyrov "
       "Sultanov Isakov Temirov Dzhaparov Ibraimov Omurbekov Sydykov Akmatov Chynybaev Nurmatov "
       "Turdubaev Musaev Mambetov Kurmanov",
       kOvEv},
      {"UZ",
       "Akmal Bobur Dilshod Farrukh Jasur Sardor Sherzod Ulugbek Rustam Aziz Timur Otabek "
       "Bekzod Jamshid Sanjar Nodir Alisher Abdulla",
       "Dilnoza Gulnora Madina Nilufar Zarina Shahnoza Kamola Sevara Malika Nodira Feruza "
       "Dildora Mohira Umida Zulfiya Gulchehra Nargiza Aziza",
       "Karimov Rakhimov Yusupov Abdullaev Ergashev Mirzaev Sultanov Nazarov Khodjaev Aliev "
       "Saidov Rasulov Kholmatov Ismoilov Tursunov Normatov Umarov Azimov Khasanov Salimov "
       "Yuldashev Mahmudov Rustamov Davletov",
       kOvEv},
      {"TJ",
       "Firdavs Farhod Rustam Bahrom Dilshod Jamshed Sherali Faridun Daler Parviz Manuchehr "
       "Suhrob Behruz Anvar Zafar Shahrom Khurshed Umed",
       "Manizha Nigina Firuza Madina Zarina Shahlo Tahmina Gulnora Farangis Mehrona Dilafruz "
       "Sitora Parvina Nilufar Zebo Marhabo Sabohat Gulbahor",
       "Rahmonov Karimov Nazarov Safarov Sharipov Hakimov Rajabov Davlatov Saidov Qodirov "
       "Mirzoev Ismoilov Abdulloev Sattorov Jurayev Boboev Kholov Latipov Rasulov Zoirov "
       "Yusufov Gafurov Sohibov Nematov",
       kOvEv},
      {"AZ",
       "Elvin Rəşad Tural Orxan Kamran Elçin Vüqar Anar Rauf Fərid Nicat Əli Murad Cavid "
       "Səbuhi Rövşən Emin Ramil",
       "Aynur Günel Leyla Nigar Sevinc Aysel Könül Gülnar Nərmin Ülviyyə Aytən Səbinə Fidan "
       "Lalə Zəhra Arzu Aygün Şəbnəm",
       "Məmmədov Əliyev Həsənov Hüseynov Quliyev İsmayılov Abbasov Babayev Cəfərov Rzayev "
       "Musayev Orucov Süleymanov Qasımov Kərimov Nəsirov Bağırov Əhmədov Məhərrəmov Səfərov "
       "Vəliyev Zeynalov İbrahimov Rəhimov",
       kOvEv},
      {"AM",
       "Armen Aram Arman Davit Tigran Hayk Gor Narek Karen Vardan Hovhannes Levon Artur Ashot "
       "Sargis Gevorg Samvel Ruben",
       "Anahit Ani Lilit Mariam Nare Gayane Anush Armine Hasmik Lusine Siranush Tatevik Astghik "
       "Sona Nune Karine Arpine Marine",
       "Hakobyan Harutyunyan Sargsyan Grigoryan Petrosyan Khachatryan Vardanyan Karapetyan "
       "Gevorgyan Avetisyan Mkrtchyan Hovhannisyan Ghazaryan Manukyan Poghosyan Davtyan "
       "Martirosyan Stepanyan Abrahamyan Baghdasaryan Galstyan Simonyan Asatryan Mikayelyan",
       {}},
      {"TR",
       "Mehmet Mustafa Ahmet Ali Hüseyin Hasan İbrahim İsmail Osman Yusuf Murat Ömer Emre Burak "
       "Kemal Serkan Can Oğuz",
       "Fatma Ayşe Emine Hatice Zeynep Elif Meryem Şerife Zehra Esra Merve Özlem Gül Derya "
       "Sibel Büşra Ebru Selin",
       "Yılmaz Kaya Demir Şahin Çelik Yıldız Yıldırım Öztürk Aydın Özdemir Arslan Doğan Kılıç "
       "Aslan Çetin Kara Koç Kurt Özkan Şimşek Polat Korkmaz Erdoğan Güneş",
       {}},
      {"US",
       "James John Robert Michael William David Richard Joseph Thomas Christopher Daniel "
       "Matthew Anthony Mark Steven Kevin Brian Joshua",
       "Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Nancy Lisa "
       "Betty Ashley Emily Michelle Amanda Melissa",
       "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez "
       "Lopez Wilson Anderson Taylor Thomas Moore Jackson Martin Lee Thompson White Harris "
       "Clark Lewis Robinson Walker Young Allen King",
       {}},
  };
  return *countries;
}

// The lists split once.
struct Pools {
  std::vector<std::string> male, female, family;
  const CountryNames* country = nullptr;
};

const std::map<std::string, Pools, std::less<>>& AllPools() {
  static const auto* pools = [] {
    auto* all = new std::map<std::string, Pools, std::less<>>;
    for (const CountryNames& c : Countries()) {
      Pools& p = (*all)[c.code];
      p.country = &c;
      p.male = absl::StrSplit(c.male, ' ', absl::SkipEmpty());
      p.female = absl::StrSplit(c.female, ' ', absl::SkipEmpty());
      p.family = absl::StrSplit(c.family, ' ', absl::SkipEmpty());
    }
    return all;
  }();
  return *pools;
}

const Pools& PoolsOf(absl::string_view country) {
  const auto& all = AllPools();
  auto it = all.find(country);
  // Callers pass codes from NameCountries(); anything else gets the first country's names.
  return it != all.end() ? it->second : all.begin()->second;
}

const std::string& Pick(const std::vector<std::string>& list, uint64_t draw) {
  return list[draw % list.size()];
}

std::string Feminine(const FeminineRules& rules, const std::string& name) {
  for (const auto& [suffix, replacement] : rules) {
    if (absl::EndsWith(name, suffix)) {
      return absl::StrCat(name.substr(0, name.size() - suffix.size()), replacement);
    }
  }
  return name;
}

// UTF-8 letters of the name lists and their MRZ spelling (ICAO Doc 9303: diacritics dropped;
// German umlauts spelled out for German documents, Azerbaijani schwa as A).
struct Letter {
  const char* utf8;
  const char* ascii;
  const char* german;  // Spelling on German documents, when different.
};

constexpr Letter kLetters[] = {
    {"ä", "a", "ae"}, {"ö", "o", "oe"},  {"ü", "u", "ue"}, {"Ä", "A", "AE"}, {"Ö", "O", "OE"},
    {"Ü", "U", "UE"}, {"ß", "ss", "ss"}, {"é", "e", ""},   {"è", "e", ""},   {"ê", "e", ""},
    {"ë", "e", ""},   {"É", "E", ""},    {"È", "E", ""},   {"à", "a", ""},   {"â", "a", ""},
    {"á", "a", ""},   {"Á", "A", ""},    {"î", "i", ""},   {"ï", "i", ""},   {"í", "i", ""},
    {"ô", "o", ""},   {"ó", "o", ""},    {"ò", "o", ""},   {"û", "u", ""},   {"ù", "u", ""},
    {"ú", "u", ""},   {"ç", "c", ""},    {"Ç", "C", ""},   {"ñ", "n", ""},   {"ł", "l", ""},
    {"Ł", "L", ""},   {"ś", "s", ""},    {"Ś", "S", ""},   {"ż", "z", ""},   {"ź", "z", ""},
    {"Ż", "Z", ""},   {"Ź", "Z", ""},    {"ć", "c", ""},   {"ń", "n", ""},   {"ą", "a", ""},
    {"ę", "e", ""},   {"ğ", "g", ""},    {"ş", "s", ""},   {"Ş", "S", ""},   {"ı", "i", ""},
    {"İ", "I", ""},   {"ə", "a", ""},    {"Ə", "A", ""},   {"œ", "oe", ""},
};

}  // namespace

const std::vector<std::string>& NameCountries() {
  static const auto* codes = [] {
    auto* list = new std::vector<std::string>;
    for (const CountryNames& c : Countries()) list->push_back(c.code);
    return list;
  }();
  return *codes;
}

std::string Transliterate(absl::string_view country, absl::string_view native) {
  const bool german = country == "DE";
  std::string out;
  out.reserve(native.size());
  size_t i = 0;
  while (i < native.size()) {
    const unsigned char c = static_cast<unsigned char>(native[i]);
    if (c < 0x80) {
      out.push_back(native[i]);
      ++i;
      continue;
    }
    bool matched = false;
    for (const Letter& letter : kLetters) {
      const absl::string_view utf8 = letter.utf8;
      if (native.substr(i, utf8.size()) == utf8) {
        out.append(german && *letter.german != '\0' ? letter.german : letter.ascii);
        i += utf8.size();
        matched = true;
        break;
      }
    }
    if (matched) continue;
    // An unknown character: skip its bytes (a lead byte and its continuation bytes).
    ++i;
    while (i < native.size() && (static_cast<unsigned char>(native[i]) & 0xC0) == 0x80) ++i;
  }
  return out;
}

Name GivenName(absl::string_view country, bool female, uint64_t draw) {
  const Pools& p = PoolsOf(country);
  const std::string& native = Pick(female ? p.female : p.male, draw);
  return {native, Transliterate(p.country->code, native)};
}

Name FamilyName(absl::string_view country, bool female, uint64_t draw) {
  const Pools& p = PoolsOf(country);
  auto one = [&](uint64_t d) {
    const std::string& name = Pick(p.family, d);
    return female ? Feminine(p.country->feminine, name) : name;
  };
  std::string native = one(draw);
  if (p.country->two_family_names) {
    // A second, different family name from the rest of the draw.
    const uint64_t second = draw / p.family.size();
    std::string other = one(second);
    if (other == native) other = one(second + 1);
    native = absl::StrCat(native, " ", other);
  }
  return {native, Transliterate(p.country->code, native)};
}

const std::vector<SendingOrganisation>& SendingOrganisations() {
  // Weights after the shares of a real mission (CIS bodies first, then the OSCE); the
  // citizenships are those of each body's members that have name lists here.
  static const auto* organisations = new std::vector<SendingOrganisation>{
      {"CIS-EC",
       "CIS Executive Committee",
       45,
       {{"RU", 5}, {"BY", 3}, {"KG", 3}, {"UZ", 2}, {"TJ", 2}, {"AM", 2}, {"AZ", 2}}},
      {"CIS-IPA",
       "CIS Interparliamentary Assembly",
       12,
       {{"RU", 3}, {"BY", 2}, {"KG", 2}, {"TJ", 2}, {"AM", 2}, {"AZ", 1}, {"UZ", 1}}},
      {"OSCE-ODIHR",
       "OSCE Office for Democratic Institutions and Human Rights",
       11,
       {{"DE", 2},
        {"FR", 2},
        {"GB", 2},
        {"PL", 2},
        {"IT", 2},
        {"ES", 1},
        {"US", 2},
        {"TR", 1},
        {"UA", 1}}},
      {"OSCE-PA",
       "OSCE Parliamentary Assembly",
       6,
       {{"DE", 2}, {"FR", 1}, {"GB", 1}, {"IT", 1}, {"PL", 1}, {"US", 1}, {"TR", 1}}},
      {"TURKIC-COUNCIL",
       "Cooperation Council of Turkic Speaking States",
       6,
       {{"TR", 2}, {"AZ", 2}, {"KG", 1}, {"UZ", 1}}},
      {"SCO", "Shanghai Cooperation Organisation", 5, {{"RU", 2}, {"KG", 1}, {"TJ", 1}, {"UZ", 1}}},
      {"PACE",
       "Parliamentary Assembly of the Council of Europe",
       4,
       {{"DE", 1},
        {"FR", 1},
        {"GB", 1},
        {"IT", 1},
        {"ES", 1},
        {"PL", 1},
        {"TR", 1},
        {"UA", 1},
        {"AM", 1},
        {"AZ", 1}}},
      {"CSTO-PA",
       "CSTO Parliamentary Assembly",
       3,
       {{"RU", 2}, {"BY", 1}, {"KG", 1}, {"TJ", 1}, {"AM", 1}}},
      {"ENEMO",
       "European Network of Election Monitoring Organizations",
       3,
       {{"UA", 2}, {"PL", 1}, {"AM", 1}, {"KG", 1}}},
  };
  return *organisations;
}

const std::vector<Weighted>& SendingStates() {
  static const auto* states = new std::vector<Weighted>{
      {"RU", 12}, {"KG", 8}, {"UZ", 8}, {"TR", 6}, {"BY", 6}, {"TJ", 5}, {"AZ", 5}, {"AM", 4},
      {"DE", 4},  {"US", 4}, {"FR", 3}, {"GB", 3}, {"PL", 3}, {"UA", 3}, {"IT", 2}, {"ES", 2}};
  return *states;
}

const Weighted& ChooseWeighted(const std::vector<Weighted>& choices, double u) {
  double total = 0;
  for (const Weighted& w : choices) total += w.weight;
  double at = u * total;
  for (const Weighted& w : choices) {
    if (at < w.weight) return w;
    at -= w.weight;
  }
  return choices.back();
}

}  // namespace observer::loadgen
