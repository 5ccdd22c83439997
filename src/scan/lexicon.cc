#include "scan/lexicon.h"

#include <algorithm>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace cs::scan {

namespace {

std::vector<std::string_view> SortedUnique(std::vector<std::string_view> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

}  // namespace

const std::vector<std::string_view>& HealthTerms() {
  // Ambiguous everyday words are left out on purpose ("operation",
  // "Rezept" = recipe, "aids" = hearing aids, "stroke" of luck).
  static const std::vector<std::string_view> kTerms = SortedUnique({
      // English
      "diabetes", "diabetic", "cancer", "tumor", "tumour", "chemotherapy", "chemo", "radiotherapy",
      "radiation therapy", "hiv", "hepatitis", "depression", "anxiety disorder", "panic attack", "schizophrenia",
      "bipolar", "epilepsy", "seizure", "asthma", "pregnant", "pregnancy", "miscarriage", "abortion", "insulin",
      "antidepressant", "prescription", "diagnosis", "diagnosed", "blood test", "mri", "biopsy", "dialysis",
      "leukemia", "leukaemia", "alzheimer", "dementia", "parkinson", "multiple sclerosis", "heart attack",
      "chlamydia", "syphilis", "tuberculosis", "cirrhosis", "methadone", "psychiatrist", "oncologist", "surgery",
      "tested positive", "medication", "hospitalised", "hospitalized", "metformin", "sertraline", "prozac",
      "hypertension", "cholesterol", "migraine", "autism", "adhd", "anorexia", "bulimia", "overdose",
      "eating disorder", "ivf", "physiotherapy", "x-ray", "ultrasound scan", "mammogram", "colonoscopy",
      "sick note", "blood pressure",
      // French
      "diabète", "diabete", "diabétique", "tumeur", "chimiothérapie", "chimio", "radiothérapie", "vih", "sida",
      "hépatite", "dépression", "trouble anxieux", "crise d'angoisse", "schizophrénie", "bipolaire", "épilepsie",
      "asthme", "enceinte", "grossesse", "fausse couche", "avortement", "ivg", "insuline", "antidépresseur",
      "ordonnance", "diagnostic", "prise de sang", "irm", "biopsie", "dialyse", "leucémie", "démence",
      "sclérose en plaques", "avc", "infarctus", "tuberculose", "cirrhose", "méthadone", "psychiatre", "oncologue",
      "chirurgie", "testé positif", "médicament", "hospitalisé", "hospitalisée", "cholestérol", "autisme",
      "anorexie", "boulimie", "fiv", "kinésithérapie", "radiographie", "échographie", "mammographie", "coloscopie",
      "arrêt maladie", "tension artérielle",
      // German
      "diabetiker", "krebs", "chemotherapie", "strahlentherapie", "hepatitis", "depressionen", "angststörung",
      "panikattacke", "schizophrenie", "epilepsie", "schwanger", "schwangerschaft", "fehlgeburt", "abtreibung",
      "schwangerschaftsabbruch", "antidepressiva", "diagnose", "blutuntersuchung", "blutabnahme", "mrt",
      "biopsie", "dialyse", "leukämie", "demenz", "multiple sklerose", "schlaganfall", "herzinfarkt", "chlamydien",
      "tuberkulose", "leberzirrhose", "methadon", "psychiater", "onkologe", "positiv getestet", "medikament",
      "medikamente", "bluthochdruck", "cholesterin", "migräne", "autismus", "magersucht", "künstliche befruchtung",
      "physiotherapie", "röntgen", "mammographie", "darmspiegelung", "krankschreibung", "arztbrief", "befund",
      "blutdruck",
      // Italian
      "diabete", "diabetico", "cancro", "tumore", "chemioterapia", "radioterapia", "epatite", "depressione",
      "disturbo d'ansia", "attacco di panico", "schizofrenia", "bipolare", "epilessia", "asma", "incinta",
      "gravidanza", "aborto spontaneo", "aborto", "insulina", "antidepressivo", "antidepressivi", "ricetta medica",
      "diagnosi", "analisi del sangue", "esami del sangue", "risonanza magnetica", "biopsia", "dialisi", "leucemia",
      "demenza", "sclerosi multipla", "ictus", "infarto", "clamidia", "sifilide", "tubercolosi", "cirrosi",
      "metadone", "psichiatra", "oncologo", "intervento chirurgico", "chirurgia", "positivo al covid", "farmaci",
      "ricoverato", "ricoverata", "ipertensione", "colesterolo", "emicrania", "autismo", "anoressia",
      "fecondazione assistita", "fisioterapia", "radiografia", "ecografia", "mammografia", "colonscopia",
      "certificato medico", "pressione arteriosa",
      // Spanish
      "diabético", "diabética", "cáncer", "quimioterapia", "quimio", "radioterapia", "depresión",
      "trastorno de ansiedad", "ataque de pánico", "esquizofrenia", "epilepsia", "embarazada", "embarazo",
      "aborto espontáneo", "antidepresivo", "antidepresivos", "receta médica", "diagnóstico", "análisis de sangre",
      "resonancia magnética", "diálisis", "esclerosis múltiple", "clamidia", "sífilis", "metadona", "oncólogo",
      "cirugía", "positivo en covid", "medicamento", "medicamentos", "hospitalizado", "hospitalizada",
      "hipertensión", "migraña", "fecundación in vitro", "radiografía", "ecografía", "mamografía", "baja médica",
      "presión arterial",
  });
  return kTerms;
}

const std::vector<std::string_view>& BirthKeywords() {
  static const std::vector<std::string_view> kWords = SortedUnique({
      "date of birth", "birth date", "birthdate", "dob", "d.o.b.", "born on", "born", "birthday",
      "date de naissance", "né le", "née le", "né", "née", "naissance",
      "geburtsdatum", "geboren am", "geboren", "geb.",
      "data di nascita", "nato il", "nata il", "nato", "nata",
      "fecha de nacimiento", "nacido el", "nacida el", "nacido", "nacida", "f. nacimiento",
  });
  return kWords;
}

int MonthNumber(std::string_view w) {
  static const std::unordered_map<std::string_view, int> kMonths = {
      // English
      {"january", 1}, {"february", 2}, {"march", 3}, {"april", 4}, {"may", 5}, {"june", 6}, {"july", 7},
      {"august", 8}, {"september", 9}, {"october", 10}, {"november", 11}, {"december", 12}, {"jan", 1},
      {"feb", 2}, {"mar", 3}, {"apr", 4}, {"jun", 6}, {"jul", 7}, {"aug", 8}, {"sep", 9}, {"sept", 9},
      {"oct", 10}, {"nov", 11}, {"dec", 12},
      // French
      {"janvier", 1}, {"février", 2}, {"fevrier", 2}, {"mars", 3}, {"avril", 4}, {"mai", 5}, {"juin", 6},
      {"juillet", 7}, {"août", 8}, {"aout", 8}, {"septembre", 9}, {"octobre", 10}, {"novembre", 11},
      {"décembre", 12}, {"decembre", 12},
      // German
      {"januar", 1}, {"jänner", 1}, {"februar", 2}, {"märz", 3}, {"maerz", 3}, {"juni", 6}, {"juli", 7},
      {"oktober", 10}, {"dezember", 12},
      // Italian
      {"gennaio", 1}, {"febbraio", 2}, {"marzo", 3}, {"aprile", 4}, {"maggio", 5}, {"giugno", 6}, {"luglio", 7},
      {"agosto", 8}, {"settembre", 9}, {"ottobre", 10}, {"dicembre", 12},
      // Spanish
      {"enero", 1}, {"febrero", 2}, {"abril", 4}, {"mayo", 5}, {"junio", 6}, {"julio", 7}, {"septiembre", 9},
      {"setiembre", 9}, {"octubre", 10}, {"noviembre", 11}, {"diciembre", 12},
  };
  auto it = kMonths.find(w);
  return it == kMonths.end() ? 0 : it->second;
}

bool IsPhoneContextWord(std::string_view w) {
  static const std::unordered_set<std::string_view> kWords = {
      "call",     "phone",    "tel",     "tél",      "telephone", "téléphone", "mobile",   "cell",     "whatsapp",
      "number",   "mob",      "sms",     "text",     "contact",   "appel",     "appelez",  "appeler",  "appelle",
      "portable", "numéro",   "numero",  "anrufen",  "ruf",       "rufen",     "handy",    "telefon",  "nummer",
      "mobil",    "rufnummer", "chiama", "chiamami", "chiamare",  "cellulare", "telefono", "llama",    "llámame",
      "llamar",   "móvil",    "movil",   "teléfono", "número",    "contacto",  "contatto", "kontakt",  "handynummer",
  };
  return kWords.count(w) > 0;
}

bool IsNotPhoneContextWord(std::string_view w) {
  static const std::unordered_set<std::string_view> kWords = {
      "order",      "orders",    "commande",  "bestellung", "bestellnummer", "auftrag",  "auftragsnummer",
      "ordine",     "pedido",    "invoice",   "facture",    "rechnung",      "rechnungsnummer", "fattura",
      "factura",    "tracking",  "suivi",     "sendung",    "sendungsnummer", "spedizione", "seguimiento",
      "envío",      "envio",     "ref",       "réf",        "reference",     "référence", "referenz",
      "riferimento", "referencia", "ticket",  "#",          "n°",            "nº",       "nr",
      "id",         "iban",      "account",   "konto",      "compte",        "conto",    "cuenta",
      "customer",   "client",    "kunde",     "kundennummer", "cliente",     "case",     "dossier",
      "pratica",    "expediente", "parcel",   "colis",      "paket",         "pacco",    "paquete",
      "serial",     "série",     "membership", "contract",  "contrat",       "vertrag",  "contratto",
      "contrato",   "policy",    "police",    "polizza",    "póliza",        "€",        "$",
      "£",          "eur",       "usd",       "total",      "amount",        "montant",  "betrag",
      "importo",    "importe",   "code",      "pin",        "otp",           "booking",  "réservation",
      "buchung",    "prenotazione", "reserva", "confirmation", "shipment",   "lot",      "batch",
      "sku",        "item",      "article",   "artikel",    "articolo",      "artículo", "card",
      "carte",      "karte",     "carta",     "tarjeta",    "voucher",       "coupon",   "gutschein",
  };
  return kWords.count(w) > 0;
}

bool IsAmountUnitWord(std::string_view w) {
  static const std::unordered_set<std::string_view> kWords = {
      "€", "eur", "euro", "euros", "$", "usd", "dollars", "£", "gbp", "chf", "brl", "r$", "inr", "%", "kg",
      "km", "g", "mg", "ml", "l", "m", "cm", "mm", "pts", "points", "punkte", "punti", "puntos", "units",
  };
  return kWords.count(w) > 0;
}

}  // namespace cs::scan
