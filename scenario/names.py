"""Word lists for the scenario's distributor: Turkish company, person, place and product names.

Every Turkish letter (İ ı Ş ş Ğ ğ Ü ü Ö ö Ç ç) occurs here on purpose: the adapters must carry
them through code pages (Logo's CP1254, 1C's UTF-16, SAP's UTF-8) unchanged.
"""

from __future__ import annotations

from typing import NamedTuple

# Family names double as company stems ("Öztürk Yapı Market").
SURNAMES = (
    "Yıldız",
    "Öztürk",
    "Çağlar",
    "Şahin",
    "Güneş",
    "Doğan",
    "Aydın",
    "Kılıç",
    "Çelik",
    "Koç",
    "Özdemir",
    "Şimşek",
    "Ünal",
    "Işık",
    "Gündoğdu",
    "Ağaoğlu",
    "Erdem",
    "Karaca",
    "Türkmen",
    "Bozkurt",
    "Akgül",
    "Çınar",
    "Özkan",
    "Kaya",
    "Demir",
    "Arslan",
    "Yücel",
    "Güler",
    "Sönmez",
    "Uğurlu",
    "Değirmenci",
    "Büyükşahin",
    "Küçükoğlu",
    "Altıntaş",
    "Ergüven",
    "Tuğrul",
    "Şen",
    "Önal",
    "Ilıcak",
    "Çakır",
)
FIRST_NAMES = (
    "Mehmet",
    "Ayşe",
    "Şükrü",
    "Gülşen",
    "Ömer",
    "Çiğdem",
    "İsmail",
    "Ümit",
    "Özlem",
    "Ahmet",
    "Fatma",
    "Hüseyin",
    "Şerife",
    "Ali",
    "Zeynep",
    "İbrahim",
    "Gökhan",
    "Büşra",
    "Oğuz",
    "Düriye",
    "Mustafa",
    "Ebru",
    "Tuğba",
    "Çetin",
    "Nurgül",
    "Erdoğan",
    "Hülya",
    "Kübra",
    "Barış",
    "Şeyma",
)
# Stems that are not family names ("Anadolu Elektrik").
STEMS = (
    "Anadolu",
    "Ege",
    "Marmara",
    "Akdeniz",
    "Karadeniz",
    "Başkent",
    "Yeşil",
    "Güven",
    "Işıklar",
    "Doğuş",
    "Umut",
    "Ülkü",
    "Çağdaş",
    "Birlik",
    "Özgür",
    "Kuzey",
    "Güney",
    "Meşe",
    "Çamlıca",
    "Boğaziçi",
)
TRADES = (
    "Elektrik",
    "Elektrik İnşaat",
    "Hırdavat",
    "Yapı Market",
    "Yapı Malzemeleri",
    "Aydınlatma",
    "Tesisat",
    "Nalbur",
    "Boya",
    "Isı Sistemleri",
    "Elektrik Malzemeleri",
    "İnşaat Malzemeleri",
    "Yapı Kimyasalları",
)
LEGAL_FORMS = ("Ltd. Şti.", "San. ve Tic. Ltd. Şti.", "San. ve Tic. A.Ş.", "A.Ş.", "Tic. Ltd. Şti.", "")

# Plain spellings for e-mail addresses and domain names.
ASCII_FOLD = str.maketrans("İıŞşĞğÜüÖöÇç", "IiSsGgUuOoCc")
_TR_UPPER = str.maketrans("iı", "İI")


def upper_tr(text: str) -> str:
    """Turkish capitals (i -> İ, ı -> I): trade-registry titles are often kept in capitals."""
    return text.translate(_TR_UPPER).upper()


class City(NamedTuple):
    name: str
    region: str
    districts: tuple[str, ...]  # a district's tax office is "<district> VD"
    phone_area: str
    weight: int  # share of dealers


CITIES = (
    City("İstanbul", "MARMARA", ("Kadıköy", "Ümraniye", "Şişli", "Beylikdüzü", "Üsküdar", "Bağcılar"), "212", 30),
    City("İzmir", "EGE", ("Bornova", "Karşıyaka", "Konak", "Çiğli"), "232", 10),
    City("Ankara", "IC-ANADOLU", ("Çankaya", "Yenimahalle", "Keçiören", "Ostim"), "312", 10),
    City("Bursa", "MARMARA", ("Osmangazi", "Nilüfer", "Yıldırım"), "224", 6),
    City("Kocaeli", "MARMARA", ("İzmit", "Gebze"), "262", 4),
    City("Tekirdağ", "MARMARA", ("Çorlu", "Süleymanpaşa"), "282", 2),
    City("Antalya", "AKDENIZ", ("Muratpaşa", "Kepez", "Alanya"), "242", 6),
    City("Adana", "AKDENIZ", ("Seyhan", "Çukurova"), "322", 4),
    City("Mersin", "AKDENIZ", ("Yenişehir", "Mezitli"), "324", 3),
    City("Manisa", "EGE", ("Şehzadeler", "Yunusemre"), "236", 2),
    City("Denizli", "EGE", ("Pamukkale", "Merkezefendi"), "258", 2),
    City("Muğla", "EGE", ("Menteşe", "Bodrum"), "252", 2),
    City("Konya", "IC-ANADOLU", ("Selçuklu", "Meram"), "332", 4),
    City("Kayseri", "IC-ANADOLU", ("Melikgazi", "Kocasinan"), "352", 3),
    City("Eskişehir", "IC-ANADOLU", ("Odunpazarı", "Tepebaşı"), "222", 2),
    City("Samsun", "KARADENIZ", ("İlkadım", "Atakum"), "362", 3),
    City("Trabzon", "KARADENIZ", ("Ortahisar", "Akçaabat"), "462", 2),
    City("Ordu", "KARADENIZ", ("Altınordu", "Ünye"), "452", 1),
    City("Erzurum", "DOGU", ("Yakutiye", "Palandöken"), "442", 2),
    City("Malatya", "DOGU", ("Battalgazi", "Yeşilyurt"), "422", 1),
    City("Van", "DOGU", ("İpekyolu", "Tuşba"), "432", 1),
)
NEIGHBOURHOODS = (
    "Cumhuriyet",
    "Atatürk",
    "Yenişehir",
    "Gültepe",
    "Çamlık",
    "İnönü",
    "Fatih",
    "Yıldıztepe",
    "Şirinevler",
    "Güzelyalı",
    "Karşıyaka",
    "Ömerli",
    "Sanayi",
    "Organize Sanayi",
)
STREETS = (
    "Atatürk Cad.",
    "İstiklal Cad.",
    "Fevzi Çakmak Cad.",
    "Şehitler Cad.",
    "Gazi Mustafa Kemal Blv.",
    "Çınar Sok.",
    "Gül Sok.",
    "Menekşe Sok.",
    "Değirmen Sok.",
    "Küçük Sanayi Sitesi 3. Blok",
    "Yeşilırmak Sok.",
    "Öğretmenler Cad.",
    "GÜNDOĞDU SANAYİ SİTESİ",
)

# Warehouses in the order ERPs number them; a dealer is served by its region's warehouse.
WAREHOUSES = (
    ("Merkez Depo", "MARMARA"),
    ("İzmir Depo", "EGE"),
    ("Ankara Depo", "IC-ANADOLU"),
    ("Antalya Depo", "AKDENIZ"),
    ("Samsun Depo", "KARADENIZ"),
)

BRANDS = (
    "Yıldırım",
    "Öz-El",
    "Çınar",
    "Güneşli",
    "Işıkay",
    "Şimşek",
    "Ege Kablo",
    "Doğuş",
    "Ünlüsoy",
    "Gürbüz",
    "Akçağ",
    "Türkoğlu Yapı",
)

SLOTS: dict[str, tuple[str, ...]] = {
    "color": ("Beyaz", "Krem", "Antrasit", "Siyah", "Gümüş", "Füme", "Altın Varak"),
    "cable_color": ("Kırmızı", "Mavi", "Sarı-Yeşil", "Siyah", "Gri", "Kahverengi"),
    "cross": ("1,5", "2,5", "4", "6", "10", "16"),
    "cores": ("2x1,5", "3x1,5", "3x2,5", "4x4", "5x6", "5x10"),
    "amp": ("6", "10", "16", "20", "25", "32", "40"),
    "curve": ("B", "C"),
    "watt": ("7", "9", "12", "15", "18", "24", "36"),
    "light": ("Günışığı", "Beyaz Işık", "Soğuk Beyaz", "Doğal Beyaz"),
    "diam": ("16", "20", "25", "32", "40", "50", "75", "110"),
    "screw": ("3,5x25", "4x40", "5x50", "6x60", "8x80"),
    "litre": ("0,75", "2,5", "7,5", "15"),
    "paint_color": ("Kar Beyazı", "Fildişi", "Gri Taş", "Çağla Yeşili", "Gök Mavisi", "Şeftali", "Kiremit"),
    "kg": ("5", "10", "25"),
    "size": ("Küçük", "Orta", "Büyük"),
}


class ProductTemplate(NamedTuple):
    prefix: str  # product code prefix
    category: str
    group: str
    name: str  # with {slot} placeholders from SLOTS
    unit: str  # base unit
    usd_price: tuple[float, float]  # list price range per base unit, in USD
    vat: int
    case: int  # base units in a KOLİ; 0: not sold by the case
    quantities: str  # key of QUANTITIES
    weight: int  # share of the catalogue


PRODUCT_TEMPLATES = (
    ProductTemplate("ELK", "ELEKTRIK", "ELK-PRIZ", "Priz Topraklı {color}", "ADET", (1.2, 4.5), 20, 20, "count", 8),
    ProductTemplate(
        "ELK", "ELEKTRIK", "ELK-ANAHTAR", "Anahtar Komütatör {color}", "ADET", (1.0, 4.0), 20, 20, "count", 6
    ),
    ProductTemplate(
        "ELK", "ELEKTRIK", "ELK-SIGORTA", "Otomatik Sigorta {curve} {amp}A", "ADET", (2.5, 9.0), 20, 12, "count", 6
    ),
    ProductTemplate(
        "ELK", "ELEKTRIK", "ELK-PANO", "Sıva Üstü Sigorta Kutusu {size}", "ADET", (6.0, 30.0), 20, 0, "few", 2
    ),
    ProductTemplate(
        "KBL", "KABLO", "KBL-NYA", "Kablo NYA {cross} mm² {cable_color}", "METRE", (0.12, 1.4), 20, 0, "metre", 8
    ),
    ProductTemplate("KBL", "KABLO", "KBL-NYM", "Kablo NYM {cores} mm²", "METRE", (0.5, 4.5), 20, 0, "metre", 5),
    ProductTemplate(
        "KBL", "KABLO", "KBL-TTR", "Kablo TTR {cores} mm² Çift İzoleli", "METRE", (0.4, 3.8), 20, 0, "metre", 4
    ),
    ProductTemplate(
        "AYD", "AYDINLATMA", "AYD-LED", "LED Ampul {watt}W {light} E27", "ADET", (0.8, 3.5), 20, 50, "count", 7
    ),
    ProductTemplate(
        "AYD", "AYDINLATMA", "AYD-ARMATUR", "LED Panel Armatür {watt}W {light}", "ADET", (6.0, 25.0), 20, 6, "few", 4
    ),
    ProductTemplate(
        "AYD", "AYDINLATMA", "AYD-DIS", "Dış Mekân Projektör {watt}W Işıldak", "ADET", (8.0, 40.0), 20, 0, "few", 2
    ),
    ProductTemplate("TES", "TESISAT", "TES-BORU", "PPRC Boru {diam} mm Yeşil", "METRE", (0.4, 6.0), 20, 0, "metre", 4),
    ProductTemplate(
        "TES", "TESISAT", "TES-VANA", "Küresel Vana {diam} mm Kelebek Kollu", "ADET", (3.0, 22.0), 20, 12, "few", 3
    ),
    ProductTemplate(
        "TES", "TESISAT", "TES-SPIRAL", "Spiral Boru {diam} mm Gri", "METRE", (0.1, 0.9), 20, 0, "metre", 3
    ),
    ProductTemplate("HRD", "HIRDAVAT", "HRD-VIDA", "Sunta Vidası {screw} (Kutu)", "KOLİ", (2.0, 9.0), 20, 0, "case", 4),
    ProductTemplate(
        "HRD", "HIRDAVAT", "HRD-DUBEL", "Plastik Dübel {size} Boy", "ADET", (0.02, 0.09), 20, 100, "bulk", 3
    ),
    ProductTemplate(
        "HRD", "HIRDAVAT", "HRD-ALET", "Pense İzoleli {size} Boy Çelik", "ADET", (4.0, 18.0), 20, 6, "few", 3
    ),
    ProductTemplate(
        "BOY", "BOYA", "BOY-IC", "İç Cephe Boyası {litre} L {paint_color}", "ADET", (5.0, 60.0), 20, 4, "few", 5
    ),
    ProductTemplate(
        "BOY",
        "BOYA",
        "BOY-DIS",
        "Dış Cephe Boyası Silikonlu {litre} L {paint_color}",
        "ADET",
        (7.0, 80.0),
        20,
        4,
        "few",
        3,
    ),
    ProductTemplate(
        "YKM",
        "YAPI-KIMYASALLARI",
        "YKM-SILIKON",
        "Silikon Şeffaf 280 ml {color}",
        "ADET",
        (1.5, 4.0),
        20,
        24,
        "count",
        3,
    ),
    ProductTemplate(
        "YKM",
        "YAPI-KIMYASALLARI",
        "YKM-YAPISTIRICI",
        "Seramik Yapıştırıcı Çimento Esaslı {kg} kg",
        "KG",
        (0.15, 0.5),
        20,
        0,
        "kg",
        4,
    ),
    ProductTemplate(
        "YKM", "YAPI-KIMYASALLARI", "YKM-DERZ", "Derz Dolgusu {paint_color} {kg} kg", "KG", (0.3, 1.1), 20, 0, "kg", 2
    ),
    ProductTemplate(
        "TRM", "TARIM", "TRM-SULAMA", "Damla Sulama Borusu {diam} mm Siyah", "METRE", (0.08, 0.6), 10, 0, "metre", 2
    ),
    ProductTemplate(
        "TRM", "TARIM", "TRM-GUBRE", "Gübre Kompoze 15-15-15 {kg} kg Çuval", "KG", (0.4, 1.2), 1, 0, "kg", 1
    ),
)

# Quantity profiles, in base units x 1000 (quantities carry 3 decimals).
QUANTITIES: dict[str, tuple[int, ...]] = {
    "count": (1000, 2000, 3000, 5000, 6000, 10000, 10000, 12000, 20000, 24000, 25000, 50000, 100000),
    "few": (1000, 1000, 2000, 2000, 3000, 4000, 5000, 6000, 10000),
    "bulk": (100000, 200000, 250000, 500000, 1000000),
    "metre": (10000, 25000, 37500, 50000, 100000, 100000, 150000, 200000, 500000, 12250),
    "kg": (5000, 10000, 25000, 50000, 75000, 100000, 12500, 250000, 2750),
    "case": (1000, 2000, 3000, 5000, 10000),
}

SERVICES = (
    ("HZM-001", "Nakliye Hizmeti", 20, (25.0, 120.0)),
    ("HZM-002", "Montaj ve Kurulum Hizmeti", 20, (60.0, 400.0)),
    ("HZM-003", "Keşif ve Proje Çizim Hizmeti", 20, (80.0, 300.0)),
    ("HZM-004", "Kablo Kesim ve Sarım Hizmeti", 20, (10.0, 60.0)),
)

PAYMENT_TERMS = (("PEŞİN", 0, 2), ("30 GÜN", 30, 5), ("45 GÜN", 45, 2), ("60 GÜN", 60, 4), ("90 GÜN", 90, 1))
GROUPS = (("BAYI-A", 2), ("BAYI-B", 4), ("BAYI-C", 5))  # (code, share): A are the big dealers
