#include "tools/example-data/kz2021_dataset.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "common/proto_time.h"

namespace observer::example {
namespace {

namespace v1 = ::observer::registry::v1;

constexpr absl::string_view kElectionId = "kz-2021-majilis";
constexpr uint64_t kSeed = 20210110;

// SplitMix64: a fixed, portable sequence (std::uniform_int_distribution is
// implementation-defined, so it is not used).
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform enough in [0, n); n > 0.
  std::size_t Below(std::size_t n) { return static_cast<std::size_t>(Next() % n); }
  // In [lo, hi].
  int Between(int lo, int hi) {
    return lo + static_cast<int>(Below(static_cast<std::size_t>(hi - lo + 1)));
  }
  // True with probability percent/100.
  bool Percent(int percent) { return Below(100) < static_cast<std::size_t>(percent); }

 private:
  uint64_t state_;
};

// ---------------------------------------------------------------------------------------------
// Synthetic people: per-country name pools, in the script of the country's documents, with the
// Latin transliteration of the machine-readable zone (ICAO Doc 9303 style, no diacritics).

struct Name {
  std::string native;
  std::string latin;
};

struct Family {
  Name male;
  Name female;
};

// A family name with one form for both genders.
Family N(const char* native, const char* latin) { return {{native, latin}, {native, latin}}; }
// A family name with a masculine and a feminine form.
Family G(const char* m, const char* ml, const char* f, const char* fl) {
  return {{m, ml}, {f, fl}};
}
// A Latin-script name whose transliteration drops diacritics.
Name L(const char* native, const char* latin) { return {native, latin}; }
Name L(const char* same) { return {same, same}; }

struct NamePool {
  std::string country;
  std::vector<Name> male;
  std::vector<Name> female;
  std::vector<Family> family;
};

// Masculine family names ending in -ov/-ev (Cyrillic) get -a for women; so do their
// transliterations.
Family Ov(const char* m, const char* ml) {
  return {{m, ml}, {absl::StrCat(m, "а"), absl::StrCat(ml, "a")}};
}
Family OvLatin(const char* m, const char* ml) {
  return {{m, ml}, {absl::StrCat(m, "a"), absl::StrCat(ml, "a")}};
}

std::vector<Name> ArabicMale() {
  return {{"محمد", "Mohammad"}, {"أحمد", "Ahmad"},  {"خالد", "Khaled"},
          {"عمر", "Omar"},      {"يوسف", "Yousef"}, {"سامي", "Sami"}};
}
std::vector<Name> ArabicFemale() {
  return {{"فاطمة", "Fatima"}, {"ليلى", "Laila"}, {"رنا", "Rana"},
          {"سارة", "Sara"},    {"نور", "Nour"},   {"هالة", "Hala"}};
}

std::vector<NamePool> MakePools() {
  std::vector<NamePool> p;
  p.push_back({"RU",
               {{"Александр", "Aleksandr"},
                {"Сергей", "Sergei"},
                {"Дмитрий", "Dmitrii"},
                {"Андрей", "Andrei"},
                {"Михаил", "Mikhail"},
                {"Алексей", "Aleksei"},
                {"Владимир", "Vladimir"},
                {"Николай", "Nikolai"}},
               {{"Елена", "Elena"},
                {"Ольга", "Olga"},
                {"Татьяна", "Tatiana"},
                {"Наталья", "Natalia"},
                {"Ирина", "Irina"},
                {"Анна", "Anna"},
                {"Светлана", "Svetlana"},
                {"Мария", "Mariia"}},
               {Ov("Иванов", "Ivanov"), Ov("Смирнов", "Smirnov"), Ov("Кузнецов", "Kuznetsov"),
                Ov("Попов", "Popov"), Ov("Соколов", "Sokolov"), Ov("Лебедев", "Lebedev"),
                Ov("Морозов", "Morozov"), Ov("Волков", "Volkov"), Ov("Новиков", "Novikov"),
                Ov("Фёдоров", "Fedorov")}});
  p.push_back({"BY",
               {{"Аляксандр", "Aliaksandr"},
                {"Сяргей", "Siarhei"},
                {"Андрэй", "Andrei"},
                {"Дзмітрый", "Dzmitry"},
                {"Уладзімір", "Uladzimir"},
                {"Павел", "Pavel"}},
               {{"Наталля", "Natallia"},
                {"Вольга", "Volha"},
                {"Таццяна", "Tatsiana"},
                {"Алена", "Alena"},
                {"Ірына", "Iryna"},
                {"Марына", "Maryna"}},
               {N("Каваленка", "Kavalenka"), N("Макарэвіч", "Makarevich"), N("Новік", "Novik"),
                N("Лукашэвіч", "Lukashevich"), N("Жук", "Zhuk"), N("Кузьміч", "Kuzmich"),
                G("Кавалёў", "Kavaliou", "Кавалёва", "Kavaliova")}});
  p.push_back({"UA",
               {{"Олександр", "Oleksandr"},
                {"Андрій", "Andrii"},
                {"Дмитро", "Dmytro"},
                {"Сергій", "Serhii"},
                {"Іван", "Ivan"},
                {"Юрій", "Yurii"}},
               {{"Олена", "Olena"},
                {"Наталія", "Nataliia"},
                {"Ірина", "Iryna"},
                {"Оксана", "Oksana"},
                {"Тетяна", "Tetiana"},
                {"Юлія", "Yuliia"}},
               {N("Шевченко", "Shevchenko"), N("Коваленко", "Kovalenko"),
                N("Бондаренко", "Bondarenko"), N("Ткачук", "Tkachuk"), N("Мельник", "Melnyk"),
                N("Кравчук", "Kravchuk"), N("Олійник", "Oliinyk")}});
  p.push_back({"KG",
               {{"Азамат", "Azamat"},
                {"Бакыт", "Bakyt"},
                {"Нурлан", "Nurlan"},
                {"Эрлан", "Erlan"},
                {"Улан", "Ulan"},
                {"Талант", "Talant"},
                {"Мирлан", "Mirlan"}},
               {{"Айгуль", "Aigul"},
                {"Гульнара", "Gulnara"},
                {"Жылдыз", "Zhyldyz"},
                {"Айжан", "Aizhan"},
                {"Нургуль", "Nurgul"},
                {"Чолпон", "Cholpon"}},
               {Ov("Асанов", "Asanov"), Ov("Токтогулов", "Toktogulov"), Ov("Жумабаев", "Zhumabaev"),
                Ov("Осмонов", "Osmonov"), Ov("Сыдыков", "Sydykov"), Ov("Мамытов", "Mamytov"),
                Ov("Абдыкадыров", "Abdykadyrov"),
                G("Токтор уулу", "Toktor uulu", "Токтор кызы", "Toktor kyzy")}});
  p.push_back({"TJ",
               {{"Фаррух", "Farrukh"},
                {"Рустам", "Rustam"},
                {"Шерзод", "Sherzod"},
                {"Далер", "Daler"},
                {"Бахтиёр", "Bakhtiyor"},
                {"Фирдавс", "Firdavs"}},
               {{"Нилуфар", "Nilufar"},
                {"Мадина", "Madina"},
                {"Зарина", "Zarina"},
                {"Гулнора", "Gulnora"},
                {"Шахноза", "Shakhnoza"},
                {"Малика", "Malika"}},
               {Ov("Рахимов", "Rakhimov"), Ov("Саидов", "Saidov"), Ov("Назаров", "Nazarov"),
                Ov("Шарипов", "Sharipov"), N("Шарифзода", "Sharifzoda"),
                N("Раҳмонзода", "Rahmonzoda"), N("Исмоилзода", "Ismoilzoda")}});
  p.push_back({"UZ",
               {L("Jasur"), L("Sardor"), L("Bekzod"), L("Otabek"), L("Akmal"), L("Sherzod")},
               {L("Dilnoza"), L("Malika"), L("Nodira"), L("Gulnoza"), L("Zarina"), L("Feruza")},
               {OvLatin("Karimov", "Karimov"), OvLatin("Yusupov", "Yusupov"),
                OvLatin("Tursunov", "Tursunov"), OvLatin("Rahimov", "Rahimov"),
                OvLatin("Abdullayev", "Abdullayev"), OvLatin("Ergashev", "Ergashev"),
                OvLatin("Nazarov", "Nazarov")}});
  p.push_back({"AZ",
               {L("Elçin", "Elchin"), L("Rəşad", "Rashad"), L("Tural"), L("Orxan", "Orkhan"),
                L("Kamran"), L("Vüqar", "Vugar")},
               {L("Aygün", "Aygun"), L("Günel", "Gunel"), L("Leyla"), L("Nərgiz", "Nargiz"),
                L("Səbinə", "Sabina"), L("Könül", "Konul")},
               {OvLatin("Məmmədov", "Mammadov"), OvLatin("Əliyev", "Aliyev"),
                OvLatin("Hüseynov", "Huseynov"), OvLatin("Quliyev", "Guliyev"),
                OvLatin("Həsənov", "Hasanov"), OvLatin("İsmayılov", "Ismayilov"),
                OvLatin("Abbasov", "Abbasov")}});
  p.push_back({"AM",
               {{"Արմեն", "Armen"},
                {"Դավիթ", "Davit"},
                {"Տիգրան", "Tigran"},
                {"Արամ", "Aram"},
                {"Գևորգ", "Gevorg"},
                {"Հայկ", "Hayk"}},
               {{"Անի", "Ani"},
                {"Լուսինե", "Lusine"},
                {"Մարիամ", "Mariam"},
                {"Անահիտ", "Anahit"},
                {"Նարինե", "Narine"},
                {"Գայանե", "Gayane"}},
               {N("Հովհաննիսյան", "Hovhannisyan"), N("Պետրոսյան", "Petrosyan"),
                N("Սարգսյան", "Sargsyan"), N("Գրիգորյան", "Grigoryan"),
                N("Հարությունյան", "Harutyunyan"), N("Ավետիսյան", "Avetisyan")}});
  p.push_back({"GE",
               {{"გიორგი", "Giorgi"},
                {"დავით", "Davit"},
                {"ლევან", "Levan"},
                {"ნიკოლოზ", "Nikoloz"},
                {"ირაკლი", "Irakli"}},
               {{"ნინო", "Nino"},
                {"თამარ", "Tamar"},
                {"მარიამ", "Mariam"},
                {"ეკატერინე", "Ekaterine"},
                {"ანა", "Ana"}},
               {N("ბერიძე", "Beridze"), N("კაპანაძე", "Kapanadze"), N("გელაშვილი", "Gelashvili"),
                N("მაისურაძე", "Maisuradze"), N("ლომიძე", "Lomidze")}});
  p.push_back(
      {"MD",
       {L("Ion"), L("Vasile"), L("Andrei"), L("Mihai"), L("Sergiu"), L("Victor")},
       {L("Maria"), L("Elena"), L("Natalia"), L("Ana"), L("Cristina"), L("Tatiana")},
       {N("Rusu", "Rusu"), N("Ciobanu", "Ciobanu"), N("Ceban", "Ceban"), N("Munteanu", "Munteanu"),
        N("Lungu", "Lungu"), N("Cojocaru", "Cojocaru"), N("Țurcanu", "Turcanu")}});
  p.push_back(
      {"RO",
       {L("Andrei"), L("Mihai"), L("Ștefan", "Stefan"), L("Alexandru"), L("Gheorghe"), L("Radu")},
       {L("Ioana"), L("Mihaela"), L("Andreea"), L("Alexandra"), L("Elena"), L("Raluca")},
       {N("Popescu", "Popescu"), N("Ionescu", "Ionescu"), N("Dumitrescu", "Dumitrescu"),
        N("Constantin", "Constantin"), N("Stan", "Stan"), N("Stoica", "Stoica"),
        N("Răducanu", "Raducanu")}});
  p.push_back(
      {"TR",
       {L("Mehmet"), L("Mustafa"), L("Ahmet"), L("Emre"), L("Burak"), L("Oğuz", "Oguz"), L("Can")},
       {L("Ayşe", "Ayse"), L("Elif"), L("Zeynep"), L("Fatma"), L("Özlem", "Ozlem"), L("Merve")},
       {N("Yılmaz", "Yilmaz"), N("Kaya", "Kaya"), N("Demir", "Demir"), N("Şahin", "Sahin"),
        N("Çelik", "Celik"), N("Öztürk", "Ozturk"), N("Aydın", "Aydin")}});
  p.push_back({"EE",
               {L("Jaan"), L("Andres"), L("Toomas"), L("Mart"), L("Rein"), L("Priit")},
               {L("Kadri"), L("Liis"), L("Tiina"), L("Kati"), L("Maarja"), L("Kristi")},
               {N("Tamm", "Tamm"), N("Saar", "Saar"), N("Sepp", "Sepp"), N("Mägi", "Magi"),
                N("Kask", "Kask"), N("Kukk", "Kukk")}});
  p.push_back({"HU",
               {L("László", "Laszlo"), L("Zoltán", "Zoltan"), L("Gábor", "Gabor"),
                L("Péter", "Peter"), L("István", "Istvan")},
               {L("Katalin"), L("Eszter"), L("Zsófia", "Zsofia"), L("Anna"), L("Judit")},
               {N("Nagy", "Nagy"), N("Kovács", "Kovacs"), N("Tóth", "Toth"), N("Szabó", "Szabo"),
                N("Horváth", "Horvath"), N("Varga", "Varga")}});
  p.push_back({"ES",
               {L("Javier"), L("Carlos"), L("José", "Jose"), L("Miguel"), L("Alejandro")},
               {L("María", "Maria"), L("Carmen"), L("Lucía", "Lucia"), L("Laura"), L("Marta")},
               {N("García", "Garcia"), N("Fernández", "Fernandez"), N("López", "Lopez"),
                N("Martínez", "Martinez"), N("Sánchez", "Sanchez"), N("Romero", "Romero")}});
  p.push_back({"FR",
               {L("Jean"), L("Pierre"), L("Nicolas"), L("François", "Francois"), L("Julien")},
               {L("Marie"), L("Sophie"), L("Camille"), L("Isabelle"), L("Hélène", "Helene")},
               {N("Martin", "Martin"), N("Bernard", "Bernard"), N("Dubois", "Dubois"),
                N("Lefèvre", "Lefevre"), N("Moreau", "Moreau"), N("Girard", "Girard")}});
  p.push_back({"IT",
               {L("Marco"), L("Luca"), L("Giuseppe"), L("Alessandro"), L("Francesco")},
               {L("Giulia"), L("Francesca"), L("Chiara"), L("Sara"), L("Elena")},
               {N("Rossi", "Rossi"), N("Russo", "Russo"), N("Ferrari", "Ferrari"),
                N("Esposito", "Esposito"), N("Bianchi", "Bianchi"), N("Romano", "Romano")}});
  p.push_back({"DE",
               {L("Thomas"), L("Michael"), L("Jürgen", "Juergen"), L("Stefan"), L("Andreas")},
               {L("Katrin"), L("Sabine"), L("Julia"), L("Anja"), L("Birgit")},
               {N("Müller", "Mueller"), N("Schmidt", "Schmidt"), N("Schneider", "Schneider"),
                N("Fischer", "Fischer"), N("Weber", "Weber"), N("Schäfer", "Schaefer")}});
  p.push_back({"BE",
               {L("Pieter"), L("Luc"), L("Jan"), L("Olivier"), L("Koen")},
               {L("An"), L("Sofie"), L("Els"), L("Nathalie"), L("Katrien")},
               {N("Peeters", "Peeters"), N("Janssens", "Janssens"), N("Maes", "Maes"),
                N("Jacobs", "Jacobs"), N("Lambert", "Lambert"), N("Dupont", "Dupont")}});
  p.push_back({"CH",
               {L("Daniel"), L("Urs"), L("Beat"), L("Marc"), L("Lukas")},
               {L("Claudia"), L("Sandra"), L("Ursula"), L("Nicole"), L("Barbara")},
               {N("Meier", "Meier"), N("Keller", "Keller"), N("Huber", "Huber"),
                N("Gerber", "Gerber"), N("Brunner", "Brunner"), N("Baumann", "Baumann")}});
  p.push_back(
      {"PL",
       {L("Piotr"), L("Krzysztof"), L("Tomasz"), L("Paweł", "Pawel"), L("Marek")},
       {L("Anna"), L("Katarzyna"), L("Małgorzata", "Malgorzata"), L("Agnieszka"), L("Magdalena")},
       {N("Nowak", "Nowak"), G("Kowalski", "Kowalski", "Kowalska", "Kowalska"),
        G("Wiśniewski", "Wisniewski", "Wiśniewska", "Wisniewska"), N("Wójcik", "Wojcik"),
        G("Lewandowski", "Lewandowski", "Lewandowska", "Lewandowska"),
        G("Zieliński", "Zielinski", "Zielińska", "Zielinska")}});
  p.push_back(
      {"CZ",
       {L("Jan"), L("Petr"), L("Tomáš", "Tomas"), L("Jiří", "Jiri"), L("Martin")},
       {L("Jana"), L("Petra"), L("Lucie"), L("Tereza"), L("Eva")},
       {G("Novák", "Novak", "Nováková", "Novakova"),
        G("Svoboda", "Svoboda", "Svobodová", "Svobodova"),
        G("Dvořák", "Dvorak", "Dvořáková", "Dvorakova"), G("Černý", "Cerny", "Černá", "Cerna"),
        G("Procházka", "Prochazka", "Procházková", "Prochazkova"),
        G("Kučera", "Kucera", "Kučerová", "Kucerova")}});
  p.push_back(
      {"FI",
       {L("Mikko"), L("Juha"), L("Timo"), L("Antti"), L("Jukka")},
       {L("Anne"), L("Päivi", "Paeivi"), L("Johanna"), L("Laura"), L("Satu")},
       {N("Korhonen", "Korhonen"), N("Virtanen", "Virtanen"), N("Mäkinen", "Maekinen"),
        N("Nieminen", "Nieminen"), N("Mäkelä", "Maekelae"), N("Hämäläinen", "Haemaelaeinen")}});
  p.push_back({"NO",
               {L("Ole"), L("Lars"), L("Bjørn", "Bjoern"), L("Anders"), L("Knut")},
               {L("Ingrid"), L("Kari"), L("Solveig"), L("Marit"), L("Hilde")},
               {N("Hansen", "Hansen"), N("Johansen", "Johansen"), N("Olsen", "Olsen"),
                N("Larsen", "Larsen"), N("Berg", "Berg"), N("Haugen", "Haugen")}});
  p.push_back({"SE",
               {L("Erik"), L("Lars"), L("Anders"), L("Johan"), L("Magnus")},
               {L("Anna"), L("Karin"), L("Eva"), L("Åsa", "Aasa"), L("Maria")},
               {N("Andersson", "Andersson"), N("Johansson", "Johansson"), N("Karlsson", "Karlsson"),
                N("Nilsson", "Nilsson"), N("Eriksson", "Eriksson"), N("Lindström", "Lindstroem")}});
  p.push_back({"GB",
               {L("James"), L("David"), L("Richard"), L("Andrew"), L("Paul")},
               {L("Sarah"), L("Emma"), L("Helen"), L("Catherine"), L("Rachel")},
               {N("Smith", "Smith"), N("Jones", "Jones"), N("Taylor", "Taylor"),
                N("Brown", "Brown"), N("Williams", "Williams"), N("Wilson", "Wilson")}});
  p.push_back({"US",
               {L("Michael"), L("John"), L("Robert"), L("William"), L("Daniel")},
               {L("Jennifer"), L("Elizabeth"), L("Susan"), L("Karen"), L("Emily")},
               {N("Johnson", "Johnson"), N("Miller", "Miller"), N("Davis", "Davis"),
                N("Anderson", "Anderson"), N("Thompson", "Thompson"), N("Clark", "Clark")}});
  p.push_back({"CA",
               {L("Mark"), L("Jean-François", "Jean-Francois"), L("Kevin"), L("Ryan"), L("Luc")},
               {L("Julie"), L("Nathalie"), L("Jennifer"), L("Caroline"), L("Amanda")},
               {N("Tremblay", "Tremblay"), N("Roy", "Roy"), N("Gagnon", "Gagnon"),
                N("MacDonald", "MacDonald"), N("Campbell", "Campbell"), N("Côté", "Cote")}});
  p.push_back({"AT",
               {L("Wolfgang"), L("Christian"), L("Markus"), L("Gerhard"), L("Florian")},
               {L("Elisabeth"), L("Martina"), L("Christina"), L("Andrea"), L("Theresa")},
               {N("Gruber", "Gruber"), N("Huber", "Huber"), N("Bauer", "Bauer"),
                N("Wagner", "Wagner"), N("Pichler", "Pichler"), N("Steiner", "Steiner")}});
  p.push_back({"NL",
               {L("Jeroen"), L("Bas"), L("Pieter"), L("Maarten"), L("Sander")},
               {L("Anouk"), L("Sanne"), L("Lotte"), L("Eva"), L("Marieke")},
               {N("de Jong", "de Jong"), N("Jansen", "Jansen"), N("de Vries", "de Vries"),
                N("van den Berg", "van den Berg"), N("Bakker", "Bakker"), N("Visser", "Visser")}});
  p.push_back({"MN",
               {{"Бат-Эрдэнэ", "Bat-Erdene"},
                {"Ганбаатар", "Ganbaatar"},
                {"Энхболд", "Enkhbold"},
                {"Мөнхбат", "Munkhbat"},
                {"Төмөрбаатар", "Tumurbaatar"}},
               {{"Оюунчимэг", "Oyunchimeg"},
                {"Сарантуяа", "Sarantuya"},
                {"Энхжаргал", "Enkhjargal"},
                {"Нарантуяа", "Narantuya"},
                {"Батцэцэг", "Battsetseg"}},
               {N("Батбаяр", "Batbayar"), N("Дорж", "Dorj"), N("Цэрэн", "Tseren"),
                N("Баяр", "Bayar"), N("Ганзориг", "Ganzorig"), N("Пүрэв", "Purev")}});
  p.push_back(
      {"IN",
       {{"राहुल", "Rahul"}, {"अमित", "Amit"}, {"विजय", "Vijay"}, {"संजय", "Sanjay"}, {"अरुण", "Arun"}},
       {{"प्रिया", "Priya"},
        {"अनीता", "Anita"},
        {"सुनीता", "Sunita"},
        {"कविता", "Kavita"},
        {"नेहा", "Neha"}},
       {N("शर्मा", "Sharma"), N("वर्मा", "Verma"), N("गुप्ता", "Gupta"), N("सिंह", "Singh"),
        N("कुमार", "Kumar"), N("मेहता", "Mehta")}});
  p.push_back(
      {"CN",
       {{"伟", "Wei"},
        {"强", "Qiang"},
        {"建国", "Jianguo"},
        {"志明", "Zhiming"},
        {"海涛", "Haitao"}},
       {{"丽", "Li"}, {"静", "Jing"}, {"秀英", "Xiuying"}, {"晓燕", "Xiaoyan"}, {"敏", "Min"}},
       {N("王", "Wang"), N("李", "Li"), N("张", "Zhang"), N("刘", "Liu"), N("陈", "Chen"),
        N("杨", "Yang")}});
  p.push_back({"PK",
               {L("Muhammad"), L("Imran"), L("Asif"), L("Faisal"), L("Usman")},
               {L("Ayesha"), L("Sana"), L("Fatima"), L("Amna"), L("Sadia")},
               {N("Khan", "Khan"), N("Ahmed", "Ahmed"), N("Malik", "Malik"),
                N("Hussain", "Hussain"), N("Qureshi", "Qureshi"), N("Chaudhry", "Chaudhry")}});
  p.push_back(
      {"PH",
       {L("Jose"), L("Mark Anthony"), L("John Paul"), L("Ramon"), L("Antonio")},
       {L("Maria Cristina"), L("Angelica"), L("Mary Grace"), L("Jocelyn"), L("Rowena")},
       {N("Santos", "Santos"), N("Reyes", "Reyes"), N("Cruz", "Cruz"), N("Bautista", "Bautista"),
        N("Mendoza", "Mendoza"), N("Villanueva", "Villanueva")}});
  p.push_back({"MV",
               {L("Ahmed"), L("Mohamed"), L("Ibrahim"), L("Hassan"), L("Ali")},
               {L("Aminath"), L("Fathimath"), L("Mariyam"), L("Aishath"), L("Hawwa")},
               {N("Rasheed", "Rasheed"), N("Naseem", "Naseem"), N("Shareef", "Shareef"),
                N("Waheed", "Waheed"), N("Didi", "Didi"), N("Manik", "Manik")}});
  p.push_back({"ID",
               {L("Budi"), L("Agus"), L("Eko"), L("Hendra"), L("Rizky")},
               {L("Siti"), L("Dewi"), L("Sri"), L("Putri"), L("Ratna")},
               {N("Santoso", "Santoso"), N("Wijaya", "Wijaya"), N("Saputra", "Saputra"),
                N("Hidayat", "Hidayat"), N("Nugroho", "Nugroho"), N("Setiawan", "Setiawan")}});
  p.push_back({"PS",
               ArabicMale(),
               ArabicFemale(),
               {N("الخطيب", "Al-Khatib"), N("حمدان", "Hamdan"), N("عودة", "Odeh"),
                N("نصار", "Nassar"), N("البرغوثي", "Barghouti"), N("الشوا", "Al-Shawa")}});
  p.push_back({"JO",
               ArabicMale(),
               ArabicFemale(),
               {N("المجالي", "Al-Majali"), N("العبادي", "Al-Abbadi"), N("الزعبي", "Al-Zoubi"),
                N("الطراونة", "Al-Tarawneh"), N("الرفاعي", "Al-Rifai")}});
  p.push_back({"SA",
               ArabicMale(),
               ArabicFemale(),
               {N("القحطاني", "Al-Qahtani"), N("الغامدي", "Al-Ghamdi"), N("العتيبي", "Al-Otaibi"),
                N("الشمري", "Al-Shammari"), N("الدوسري", "Al-Dosari")}});
  p.push_back({"EG",
               ArabicMale(),
               ArabicFemale(),
               {N("حسن", "Hassan"), N("إبراهيم", "Ibrahim"), N("مصطفى", "Mostafa"),
                N("السيد", "El-Sayed"), N("عبد الرحمن", "Abdelrahman")}});
  return p;
}

const NamePool& PoolFor(const std::vector<NamePool>& pools, absl::string_view country) {
  for (const auto& pool : pools) {
    if (pool.country == country) return pool;
  }
  // Every citizenship used below has a pool; the data set test builds all of them.
  std::fprintf(stderr, "kz2021_dataset: no name pool for %s\n", std::string(country).c_str());
  std::abort();
}

// ---------------------------------------------------------------------------------------------
// The sending bodies.

struct OrgPlan {
  const char* code;
  const char* en;
  const char* ru;
  const char* kk;
  const char* parent;  // Code of the parent, or "".
  int observers;       // Published count (0 for parents).
  // Citizenships of its observers with relative weights (ILLUSTRATIVE; never KZ).
  std::vector<std::pair<const char*, int>> citizenship;
};

std::vector<OrgPlan> OrgPlans() {
  return {
      // Parents: no observers of their own.
      {"OSCE",
       "Organization for Security and Co-operation in Europe",
       "Организация по безопасности и сотрудничеству в Европе",
       "Еуропадағы қауіпсіздік және ынтымақтастық ұйымы",
       "",
       0,
       {}},
      {"CIS",
       "Commonwealth of Independent States",
       "Содружество Независимых Государств",
       "Тәуелсіз Мемлекеттер Достастығы",
       "",
       0,
       {}},
      {"CSTO",
       "Collective Security Treaty Organization",
       "Организация Договора о коллективной безопасности",
       "Ұжымдық қауіпсіздік туралы шарт ұйымы",
       "",
       0,
       {}},
      // The ten sending organisations, in the order of the CEC's figures.
      {"CIS-EC",
       "CIS Executive Committee",
       "Исполнительный комитет СНГ",
       "ТМД Атқарушы комитеті",
       "CIS",
       179,
       {{"RU", 5}, {"BY", 3}, {"KG", 3}, {"UZ", 2}, {"TJ", 2}, {"AM", 2}, {"AZ", 2}, {"MD", 1}}},
      {"CIS-IPA",
       "CIS Interparliamentary Assembly",
       "Межпарламентская Ассамблея государств — участников СНГ",
       "ТМД-ға қатысушы мемлекеттердің Парламентаралық Ассамблеясы",
       "CIS",
       48,
       {{"RU", 3}, {"BY", 2}, {"KG", 2}, {"TJ", 2}, {"AM", 2}, {"AZ", 1}, {"MD", 1}, {"UZ", 1}}},
      {"OSCE-ODIHR",
       "OSCE Office for Democratic Institutions and Human Rights",
       "Бюро по демократическим институтам и правам человека ОБСЕ",
       "ЕҚЫҰ Демократиялық институттар және адам құқықтары жөніндегі бюросы",
       "OSCE",
       42,
       {{"DE", 2},
        {"FR", 2},
        {"GB", 2},
        {"PL", 2},
        {"SE", 1},
        {"NO", 1},
        {"FI", 1},
        {"IT", 2},
        {"ES", 1},
        {"CH", 1},
        {"CZ", 1},
        {"HU", 1},
        {"RO", 1},
        {"EE", 1},
        {"BE", 1},
        {"CA", 1},
        {"US", 2},
        {"AT", 1},
        {"NL", 1}}},
      {"SCO",
       "Shanghai Cooperation Organisation",
       "Шанхайская организация сотрудничества",
       "Шанхай ынтымақтастық ұйымы",
       "",
       15,
       {{"RU", 2}, {"CN", 2}, {"KG", 1}, {"TJ", 1}, {"UZ", 1}, {"IN", 1}, {"PK", 1}}},
      {"OSCE-PA",
       "OSCE Parliamentary Assembly",
       "Парламентская ассамблея ОБСЕ",
       "ЕҚЫҰ Парламенттік ассамблеясы",
       "OSCE",
       9,
       {{"DE", 1},
        {"FR", 1},
        {"GB", 1},
        {"SE", 1},
        {"IT", 1},
        {"AT", 1},
        {"FI", 1},
        {"CH", 1},
        {"NO", 1},
        {"BE", 1},
        {"PL", 1}}},
      {"TURKPA",
       "Parliamentary Assembly of Turkic-speaking Countries",
       "Парламентская ассамблея тюркоязычных стран",
       "Түркітілдес елдердің Парламенттік Ассамблеясы",
       "",
       9,
       {{"AZ", 1}, {"KG", 1}, {"TR", 1}}},
      {"CCTS",
       "Cooperation Council of Turkic-speaking States",
       "Совет сотрудничества тюркоязычных государств",
       "Түркітілдес мемлекеттердің ынтымақтастық кеңесі",
       "",
       7,
       {{"AZ", 1}, {"KG", 1}, {"TR", 1}, {"UZ", 1}}},
      {"CSTO-PA",
       "Parliamentary Assembly of the Collective Security Treaty Organisation",
       "Парламентская Ассамблея Организации Договора о коллективной безопасности",
       "Ұжымдық қауіпсіздік туралы шарт ұйымының Парламенттік Ассамблеясы",
       "CSTO",
       7,
       {{"RU", 2}, {"BY", 1}, {"AM", 1}, {"KG", 1}, {"TJ", 1}}},
      {"OIC",
       "Organisation of Islamic Cooperation",
       "Организация исламского сотрудничества",
       "Ислам ынтымақтастығы ұйымы",
       "",
       4,
       {{"SA", 1}, {"TR", 1}, {"AZ", 1}, {"EG", 1}, {"JO", 1}, {"UZ", 1}}},
      {"EU-DEL-KZ",
       "European Union Delegation to Kazakhstan",
       "Представительство Европейского союза в Казахстане",
       "Еуропалық одақтың Қазақстандағы өкілдігі",
       "",
       2,
       {{"DE", 1}, {"IT", 1}, {"FR", 1}, {"BE", 1}}},
  };
}

// The 31 states in the article's order with an ILLUSTRATIVE split of the 76 (the CEC did not
// publish one): neighbours and CIS states larger, every state at least one.
std::vector<std::pair<const char*, int>> StatePlans() {
  return {
      // "post-Soviet space" (the article lists Turkey here).
      {"KG", 7},
      {"MD", 2},
      {"TR", 4},
      {"AZ", 3},
      {"AM", 2},
      {"UZ", 6},
      {"UA", 2},
      {"RU", 9},
      {"EE", 1},
      // "European countries".
      {"RO", 2},
      {"HU", 2},
      {"ES", 1},
      {"FR", 2},
      {"IT", 2},
      {"DE", 3},
      {"BE", 1},
      {"CH", 1},
      {"PL", 2},
      {"CZ", 2},
      {"FI", 1},
      {"NO", 1},
      {"SE", 1},
      {"GB", 2},
      // Others.
      {"MN", 5},
      {"IN", 3},
      {"PH", 1},
      {"PS", 2},
      {"CA", 1},
      {"MV", 1},
      {"ID", 2},
      {"JO", 2},
  };
}

v1::ObserverCategory CategoryFor(absl::string_view body, bool is_state, int index, int count) {
  if (index == 0 && (!is_state || count >= 4)) return v1::OBSERVER_CATEGORY_HEAD_OF_DELEGATION;
  if (is_state) {
    return (index == 1 && count >= 5) ? v1::OBSERVER_CATEGORY_PARLIAMENTARIAN
                                      : v1::OBSERVER_CATEGORY_SHORT_TERM;
  }
  if (body == "OSCE-ODIHR") {
    // An election observation mission: a core team in the capital, long-term observers.
    return index <= 11 ? v1::OBSERVER_CATEGORY_CORE_TEAM : v1::OBSERVER_CATEGORY_LONG_TERM;
  }
  if (body == "CIS-EC") {
    return index <= 24 ? v1::OBSERVER_CATEGORY_LONG_TERM : v1::OBSERVER_CATEGORY_SHORT_TERM;
  }
  if (body == "CIS-IPA" || body == "OSCE-PA" || body == "TURKPA" || body == "CSTO-PA") {
    // Members of parliament and, every fourth, secretariat staff.
    return index % 4 == 3 ? v1::OBSERVER_CATEGORY_OTHER : v1::OBSERVER_CATEGORY_PARLIAMENTARIAN;
  }
  return v1::OBSERVER_CATEGORY_SHORT_TERM;
}

absl::TimeZone Almaty() {
  absl::TimeZone tz;
  // tzdata gives UTC+6 for Asia/Almaty in 2020-21; the fixed zone is the same offset for a
  // machine without /usr/share/zoneinfo.
  if (!absl::LoadTimeZone("Asia/Almaty", &tz)) tz = absl::FixedTimeZone(6 * 60 * 60);
  return tz;
}

// Builds people and their documents.
class PersonFactory {
 public:
  explicit PersonFactory(Rng* rng) : rng_(rng), pools_(MakePools()) {}

  void Fill(absl::string_view citizenship, v1::ObserverCategory category, v1::Observer* o) {
    const NamePool& pool = PoolFor(pools_, citizenship);
    const bool female = rng_->Percent(38);
    const auto& given_list = female ? pool.female : pool.male;
    // Draw again (a bounded number of times) rather than repeat a full name.
    Name given, family;
    for (int attempt = 0; attempt < 20; ++attempt) {
      given = given_list[rng_->Below(given_list.size())];
      const Family& fam = pool.family[rng_->Below(pool.family.size())];
      family = female ? fam.female : fam.male;
      if (citizenship == "ES") {
        // Two surnames (father's, mother's).
        const Family& second = pool.family[rng_->Below(pool.family.size())];
        if (second.male.native != fam.male.native) {
          family.native = absl::StrCat(family.native, " ", second.male.native);
          family.latin = absl::StrCat(family.latin, " ", second.male.latin);
        }
      }
      if (full_names_.insert(absl::StrCat(given.native, "|", family.native)).second) break;
    }
    o->set_given_names(given.native);
    o->set_family_name(family.native);
    o->set_latin_given_names(given.latin);
    o->set_latin_family_name(family.latin);
    o->set_citizenship(std::string(citizenship));
    o->set_gender(female ? v1::GENDER_FEMALE : v1::GENDER_MALE);
    *o->mutable_birth_date() =
        MakeDate(rng_->Between(1952, 1994), rng_->Between(1, 12), rng_->Between(1, 28));
    auto* doc = o->mutable_id_document();
    doc->set_issuing_country(std::string(citizenship));
    if (category == v1::OBSERVER_CATEGORY_HEAD_OF_DELEGATION ||
        category == v1::OBSERVER_CATEGORY_PARLIAMENTARIAN) {
      doc->set_type(v1::ID_DOCUMENT_TYPE_DIPLOMATIC_PASSPORT);
    } else if (category == v1::OBSERVER_CATEGORY_CORE_TEAM) {
      doc->set_type(v1::ID_DOCUMENT_TYPE_SERVICE_PASSPORT);
    } else {
      doc->set_type(v1::ID_DOCUMENT_TYPE_PASSPORT);
    }
    doc->set_number(NewDocumentNumber(citizenship, doc->type()));
  }

 private:
  std::string NewDocumentNumber(absl::string_view country, v1::IdDocumentType type) {
    for (;;) {
      std::string number;
      if (type == v1::ID_DOCUMENT_TYPE_DIPLOMATIC_PASSPORT) {
        number = absl::StrFormat("D%08d", rng_->Between(0, 99999999));
      } else if (type == v1::ID_DOCUMENT_TYPE_SERVICE_PASSPORT) {
        number = absl::StrFormat("S%08d", rng_->Between(0, 99999999));
      } else if (country == "RU") {
        // Nine digits, the first two being the series.
        number = absl::StrFormat("%02d %07d", rng_->Between(70, 77), rng_->Between(0, 9999999));
      } else {
        const char* letters = "ABCEFGHJKLMNPRSTUVWXYZ";
        number = absl::StrFormat("%c%c%07d", letters[rng_->Below(22)], letters[rng_->Below(22)],
                                 rng_->Between(0, 9999999));
      }
      std::string key;
      for (char c : number) {
        if (c != ' ' && c != '-') key.push_back(c);
      }
      if (used_.insert(key).second) return number;
    }
  }

  Rng* rng_;
  std::vector<NamePool> pools_;
  std::set<std::string> used_;
  std::set<std::string> full_names_;
};

const char* WeightedPick(Rng* rng, const std::vector<std::pair<const char*, int>>& weighted) {
  int total = 0;
  for (const auto& [code, w] : weighted) total += w;
  int r = static_cast<int>(rng->Below(static_cast<std::size_t>(total)));
  for (const auto& [code, w] : weighted) {
    if (r < w) return code;
    r -= w;
  }
  return weighted.back().first;
}

}  // namespace

absl::Time Kz2021Deadline() { return absl::FromUnixSeconds(1609761600); }  // 2021-01-04T12:00Z

ExampleDataSet BuildKz2021DataSet() {
  ExampleDataSet data;
  Rng rng(kSeed);
  PersonFactory people(&rng);
  const absl::TimeZone tz = Almaty();
  auto local = [&tz](int y, int mo, int d, int h, int mi) {
    return absl::FromCivil(absl::CivilMinute(y, mo, d, h, mi), tz);
  };

  // The election. The deadline is left to the server's default rule.
  data.election_id = std::string(kElectionId);
  v1::Election& e = data.election;
  e.set_display_name(
      "Elections of deputies of the Majilis of the Parliament and of maslikhats of the Republic "
      "of Kazakhstan");
  e.set_kind(v1::ELECTION_KIND_COMBINED);
  e.set_host_country("KZ");
  *e.mutable_voting_day() = MakeDate(2021, 1, 10);
  e.set_time_zone("Asia/Almaty");

  // Organisations (parents first).
  const std::vector<OrgPlan> orgs = OrgPlans();
  for (const OrgPlan& plan : orgs) {
    PlannedOrganisation po;
    po.code = plan.code;
    auto* names = po.organisation.mutable_names();
    names->set_en(plan.en);
    names->set_ru(plan.ru);
    names->set_kk(plan.kk);
    if (*plan.parent != '\0')
      po.organisation.set_parent(absl::StrCat("organisations/", plan.parent));
    if (po.code == "CCTS") {
      // Short name until the rename, and the name since the Istanbul summit of 12 Nov 2021.
      auto* short_name = po.organisation.add_aliases();
      short_name->mutable_names()->set_en("Turkic Council");
      short_name->mutable_names()->set_ru("Тюркский совет");
      short_name->mutable_names()->set_kk("Түркі кеңесі");
      *short_name->mutable_valid_until() = MakeDate(2021, 11, 11);
      auto* renamed = po.organisation.add_aliases();
      renamed->mutable_names()->set_en("Organization of Turkic States");
      renamed->mutable_names()->set_ru("Организация тюркских государств");
      renamed->mutable_names()->set_kk("Түркі мемлекеттері ұйымы");
      *renamed->mutable_valid_from() = MakeDate(2021, 11, 12);
    } else if (po.code == "OIC") {
      // Renamed at the Council of Foreign Ministers in Astana, 28 June 2011.
      auto* former = po.organisation.add_aliases();
      former->mutable_names()->set_en("Organisation of the Islamic Conference");
      former->mutable_names()->set_ru("Организация Исламская конференция");
      former->mutable_names()->set_kk("Ислам конференциясы ұйымы");
      *former->mutable_valid_until() = MakeDate(2011, 6, 27);
    }
    data.organisations.push_back(std::move(po));
  }

  // Seven commission meetings at 10:00 local time; the last on 4 Jan 2021, the day
  // accreditation closed (ILLUSTRATIVE dates and resolution numbers).
  const int meeting_days[7][3] = {{2020, 12, 10}, {2020, 12, 15}, {2020, 12, 22}, {2020, 12, 25},
                                  {2020, 12, 29}, {2020, 12, 30}, {2021, 1, 4}};
  const int resolution_numbers[7] = {196, 204, 215, 221, 229, 236, 243};
  for (int i = 0; i < 7; ++i) {
    Meeting m;
    m.number = i + 1;
    m.time = local(meeting_days[i][0], meeting_days[i][1], meeting_days[i][2], 10, 0);
    m.decision_reference = absl::StrCat("CEC resolution No. ", resolution_numbers[i]);
    data.meetings.push_back(std::move(m));
  }

  // Submission received 1 to 5 days before its meeting, in office hours.
  auto received_before = [&](const Meeting& m) {
    const absl::CivilDay day = absl::ToCivilDay(m.time, tz) - rng.Between(1, 5);
    return absl::FromCivil(absl::CivilMinute(day.year(), day.month(), day.day(), rng.Between(9, 17),
                                             rng.Between(0, 59)),
                           tz);
  };
  auto new_submission = [&](absl::string_view body, bool is_state, int note, absl::Time received) {
    Submission s;
    s.sending_body = std::string(body);
    s.reference = is_state ? absl::StrCat("Note verbale No. ", rng.Between(100, 999), "/",
                                          absl::FormatTime("%Y", received, tz), " (", body, ")")
                           : absl::StrCat(body, " letter No. ", rng.Between(10, 99), "-",
                                          rng.Between(100, 999));
    s.request_id = absl::StrCat(kElectionId, "/note/", body, "/", note);
    s.received_time = received;
    data.submissions.push_back(std::move(s));
    return data.submissions.size() - 1;
  };
  auto add_observer = [&](std::string key, absl::string_view body, bool is_state,
                          absl::string_view citizenship, v1::ObserverCategory category,
                          std::size_t submission) {
    PlannedObserver po;
    po.key = std::move(key);
    people.Fill(citizenship, category, &po.observer);
    if (is_state) {
      po.observer.mutable_sending_body()->set_state(std::string(body));
    } else {
      po.observer.mutable_sending_body()->set_organisation(absl::StrCat("organisations/", body));
    }
    po.observer.set_category(category);
    po.observer.set_submission_reference(data.submissions[submission].reference);
    *po.observer.mutable_received_time() = ToProto(data.submissions[submission].received_time);
    po.observer.add_tags("example-data");
    po.submission = submission;
    data.observers.push_back(std::move(po));
    data.submissions[submission].observers.push_back(data.observers.size() - 1);
    return data.observers.size() - 1;
  };
  auto decide = [&](std::size_t index, v1::ObserverStatus status, int meeting,
                    absl::string_view reason) {
    PlannedObserver& po = data.observers[index];
    const Meeting& m = data.meetings[static_cast<std::size_t>(meeting - 1)];
    po.target_status = status;
    po.meeting = m.number;
    po.decision_time = m.time;
    po.decision_reference = m.decision_reference;
    po.reason = std::string(reason);
  };

  // Each sending body's nominees arrive in one to four notes, each decided at one meeting.
  struct Body {
    std::string code;
    bool is_state;
    int count;
    std::vector<std::pair<const char*, int>> citizenship;
  };
  std::vector<Body> bodies;
  for (const OrgPlan& plan : orgs) {
    if (plan.observers > 0) bodies.push_back({plan.code, false, plan.observers, plan.citizenship});
  }
  for (const auto& [state, count] : StatePlans()) {
    bodies.push_back({state, true, count, {{state, 1}}});
  }
  std::size_t cis_ec_first_note = 0;
  std::size_t oic_note = 0;
  int odihr_notes = 0;
  int tr_notes = 0;
  for (std::size_t b = 0; b < bodies.size(); ++b) {
    const Body& body = bodies[b];
    const int notes = body.count >= 100 ? 4 : body.count >= 40 ? 3 : body.count >= 8 ? 2 : 1;
    // Spread over the meetings (every meeting gets some); a body's notes in time order.
    std::vector<int> note_meetings;
    for (int j = 0; j < notes; ++j) {
      note_meetings.push_back(static_cast<int>((b * 3 + static_cast<std::size_t>(j) * 2) % 7) + 1);
    }
    std::sort(note_meetings.begin(), note_meetings.end());
    int index = 0;
    for (int j = 0; j < notes; ++j) {
      const int meeting = note_meetings[static_cast<std::size_t>(j)];
      const std::size_t s =
          new_submission(body.code, body.is_state, j + 1,
                         received_before(data.meetings[static_cast<std::size_t>(meeting - 1)]));
      if (body.code == "CIS-EC" && j == 0) cis_ec_first_note = s;
      if (body.code == "OIC") oic_note = s;
      const int end = body.count * (j + 1) / notes;
      for (; index < end; ++index) {
        const std::string key = body.is_state
                                    ? absl::StrFormat("STATE-%s-%02d", body.code, index + 1)
                                    : absl::StrFormat("%s-%03d", body.code, index + 1);
        const auto category = CategoryFor(body.code, body.is_state, index, body.count);
        const char* citizenship = WeightedPick(&rng, body.citizenship);
        decide(add_observer(key, body.code, body.is_state, citizenship, category, s),
               v1::OBSERVER_STATUS_ACCREDITED, meeting, "");
      }
    }
    if (body.code == "OSCE-ODIHR") odihr_notes = notes;
    if (body.code == "TR") tr_notes = notes;
  }

  // Records that do not count, so that filters have something to filter.
  // Three rejections.
  {
    const Submission& note = data.submissions[cis_ec_first_note];
    const int meeting = data.observers[note.observers.front()].meeting;
    decide(add_observer("CIS-EC-180", "CIS-EC", false, "RU", v1::OBSERVER_CATEGORY_SHORT_TERM,
                        cis_ec_first_note),
           v1::OBSERVER_STATUS_REJECTED, meeting,
           "Submission incomplete: copy of the identity document missing");
  }
  {
    const int meeting = data.observers[data.submissions[oic_note].observers.front()].meeting;
    decide(add_observer("OIC-005", "OIC", false, "EG", v1::OBSERVER_CATEGORY_SHORT_TERM, oic_note),
           v1::OBSERVER_STATUS_REJECTED, meeting,
           "Nominee not confirmed by the sending organisation");
  }
  {
    const std::size_t s = new_submission("GE", true, 1, received_before(data.meetings[4]));
    decide(add_observer("STATE-GE-01", "GE", true, "GE", v1::OBSERVER_CATEGORY_SHORT_TERM, s),
           v1::OBSERVER_STATUS_REJECTED, 5, "Submission incomplete: nominee's consent missing");
  }
  // Two submissions that arrived after the last meeting, before the deadline: never decided.
  add_observer("OSCE-ODIHR-043", "OSCE-ODIHR", false, "NL", v1::OBSERVER_CATEGORY_LONG_TERM,
               new_submission("OSCE-ODIHR", false, odihr_notes + 1, local(2021, 1, 4, 11, 30)));
  add_observer("STATE-TR-05", "TR", true, "TR", v1::OBSERVER_CATEGORY_SHORT_TERM,
               new_submission("TR", true, tr_notes + 1, local(2021, 1, 4, 15, 10)));
  // A test record, accredited like a real one.
  {
    const std::size_t s = new_submission("TEST", true, 1, received_before(data.meetings[6]));
    data.submissions[s].reference = "Test record (not a real submission)";
    const std::size_t i =
        add_observer("TEST-DE-01", "DE", true, "DE", v1::OBSERVER_CATEGORY_OTHER, s);
    PlannedObserver& t = data.observers[i];
    t.observer.set_given_names("Erika");
    t.observer.set_family_name("Mustermann");
    t.observer.set_latin_given_names("Erika");
    t.observer.set_latin_family_name("Mustermann");
    t.observer.set_gender(v1::GENDER_FEMALE);
    t.observer.set_submission_reference(data.submissions[s].reference);
    t.observer.set_test(true);
    t.observer.add_tags("test");
    decide(i, v1::OBSERVER_STATUS_ACCREDITED, 7, "");
  }

  // Submissions in order of receipt; batch tags follow that order.
  std::vector<std::size_t> order(data.submissions.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return data.submissions[a].received_time < data.submissions[b].received_time;
  });
  std::vector<Submission> sorted;
  sorted.reserve(order.size());
  for (std::size_t pos = 0; pos < order.size(); ++pos) {
    Submission s = std::move(data.submissions[order[pos]]);
    for (std::size_t i : s.observers) {
      data.observers[i].submission = pos;
      data.observers[i].observer.add_tags(absl::StrCat("batch-", pos + 1));
    }
    sorted.push_back(std::move(s));
  }
  data.submissions = std::move(sorted);
  return data;
}

const ExampleDataSet& Kz2021DataSet() {
  static const ExampleDataSet* const data = new ExampleDataSet(BuildKz2021DataSet());
  return *data;
}

v1::CreateElectionRequest CreateElectionRequestFor(const ExampleDataSet& data) {
  v1::CreateElectionRequest request;
  *request.mutable_election() = data.election;
  request.set_election_id(data.election_id);
  request.set_request_id(absl::StrCat(data.election_id, "/create-election"));
  return request;
}

v1::CreateOrganisationRequest CreateOrganisationRequestFor(
    const ExampleDataSet& data, const PlannedOrganisation& organisation) {
  v1::CreateOrganisationRequest request;
  *request.mutable_organisation() = organisation.organisation;
  request.set_organisation_code(organisation.code);
  request.set_request_id(
      absl::StrCat(data.election_id, "/create-organisation/", organisation.code));
  return request;
}

std::vector<ObserverBatch> ObserverBatchesFor(const ExampleDataSet& data) {
  constexpr std::size_t kMaxRows = 1000;  // BatchCreateObservers' limit.
  std::vector<ObserverBatch> batches;
  for (const Submission& sub : data.submissions) {
    for (std::size_t begin = 0; begin < sub.observers.size(); begin += kMaxRows) {
      const std::size_t end = std::min(sub.observers.size(), begin + kMaxRows);
      ObserverBatch& batch = batches.emplace_back();
      batch.submission = &sub;
      batch.request.set_parent(absl::StrCat("elections/", data.election_id));
      batch.request.set_all_or_nothing(true);
      batch.request.set_request_id(begin == 0 ? sub.request_id
                                              : absl::StrCat(sub.request_id, "/", begin));
      for (std::size_t i = begin; i < end; ++i) {
        *batch.request.add_requests()->mutable_observer() =
            data.observers[sub.observers[i]].observer;
        batch.observers.push_back(sub.observers[i]);
      }
    }
  }
  return batches;
}

v1::AccreditObserverRequest AccreditRequestFor(const ExampleDataSet& data,
                                               const PlannedObserver& observer,
                                               const std::string& name) {
  v1::AccreditObserverRequest request;
  request.set_name(name);
  *request.mutable_decision_time() = ToProto(observer.decision_time);
  request.set_decision_reference(observer.decision_reference);
  request.set_request_id(absl::StrCat(data.election_id, "/accredit/", observer.key));
  return request;
}

v1::RejectObserverRequest RejectRequestFor(const ExampleDataSet& data,
                                           const PlannedObserver& observer,
                                           const std::string& name) {
  v1::RejectObserverRequest request;
  request.set_name(name);
  *request.mutable_decision_time() = ToProto(observer.decision_time);
  request.set_decision_reference(observer.decision_reference);
  request.set_reason(observer.reason);
  request.set_request_id(absl::StrCat(data.election_id, "/reject/", observer.key));
  return request;
}

}  // namespace observer::example
