"""Thailand's 77 provinces and the ESA offices the demo data set builds on them.

Province codes are the real 2-digit codes; the number of primary zones per province follows the
2018 structure (183 สพป.) and the secondary offices follow the one-per-province-or-pair layout
(62 สพม.), so the national demo has the same shape as the real reporting network.
"""

from __future__ import annotations

from dataclasses import dataclass

from schoolnet.core.registry import EsaLevel


@dataclass(frozen=True)
class Province:
    code: str  # real 2-digit province code
    name: str  # Thai name
    slug: str  # ASCII name, used in contact e-mail addresses
    primary_zones: int  # number of สพป. zones
    remoteness: float  # 1.0 = average; higher means more schools no provider reaches


# (code, Thai name, ASCII slug, primary zones, remoteness)
_PROVINCES: tuple[tuple[str, str, str, int, float], ...] = (
    ("10", "กรุงเทพมหานคร", "bangkok", 1, 0.1),
    ("11", "สมุทรปราการ", "samutprakan", 2, 0.3),
    ("12", "นนทบุรี", "nonthaburi", 2, 0.3),
    ("13", "ปทุมธานี", "pathumthani", 2, 0.4),
    ("14", "พระนครศรีอยุธยา", "ayutthaya", 2, 0.6),
    ("15", "อ่างทอง", "angthong", 1, 0.6),
    ("16", "ลพบุรี", "lopburi", 2, 0.8),
    ("17", "สิงห์บุรี", "singburi", 1, 0.6),
    ("18", "ชัยนาท", "chainat", 1, 0.8),
    ("19", "สระบุรี", "saraburi", 2, 0.8),
    ("20", "ชลบุรี", "chonburi", 3, 0.4),
    ("21", "ระยอง", "rayong", 2, 0.6),
    ("22", "จันทบุรี", "chanthaburi", 2, 1.0),
    ("23", "ตราด", "trat", 1, 1.6),
    ("24", "ฉะเชิงเทรา", "chachoengsao", 2, 0.8),
    ("25", "ปราจีนบุรี", "prachinburi", 2, 1.0),
    ("26", "นครนายก", "nakhonnayok", 1, 0.9),
    ("27", "สระแก้ว", "sakaeo", 2, 1.4),
    ("30", "นครราชสีมา", "korat", 7, 1.0),
    ("31", "บุรีรัมย์", "buriram", 4, 1.0),
    ("32", "สุรินทร์", "surin", 3, 1.1),
    ("33", "ศรีสะเกษ", "sisaket", 4, 1.1),
    ("34", "อุบลราชธานี", "ubon", 5, 1.2),
    ("35", "ยโสธร", "yasothon", 2, 0.9),
    ("36", "ชัยภูมิ", "chaiyaphum", 3, 1.2),
    ("37", "อำนาจเจริญ", "amnatcharoen", 1, 1.0),
    ("38", "บึงกาฬ", "buengkan", 1, 1.3),
    ("39", "หนองบัวลำภู", "nongbualamphu", 2, 1.0),
    ("40", "ขอนแก่น", "khonkaen", 5, 0.8),
    ("41", "อุดรธานี", "udonthani", 4, 0.9),
    ("42", "เลย", "loei", 3, 2.0),
    ("43", "หนองคาย", "nongkhai", 2, 1.0),
    ("44", "มหาสารคาม", "mahasarakham", 3, 0.9),
    ("45", "ร้อยเอ็ด", "roiet", 3, 0.9),
    ("46", "กาฬสินธุ์", "kalasin", 3, 1.0),
    ("47", "สกลนคร", "sakonnakhon", 3, 1.1),
    ("48", "นครพนม", "nakhonphanom", 2, 1.2),
    ("49", "มุกดาหาร", "mukdahan", 1, 1.3),
    ("50", "เชียงใหม่", "chiangmai", 6, 2.2),
    ("51", "ลำพูน", "lamphun", 2, 1.0),
    ("52", "ลำปาง", "lampang", 3, 1.3),
    ("53", "อุตรดิตถ์", "uttaradit", 2, 1.6),
    ("54", "แพร่", "phrae", 2, 1.6),
    ("55", "น่าน", "nan", 2, 3.2),
    ("56", "พะเยา", "phayao", 2, 1.6),
    ("57", "เชียงราย", "chiangrai", 4, 2.0),
    ("58", "แม่ฮ่องสอน", "maehongson", 2, 4.5),
    ("60", "นครสวรรค์", "nakhonsawan", 3, 0.9),
    ("61", "อุทัยธานี", "uthaithani", 2, 1.6),
    ("62", "กำแพงเพชร", "kamphaengphet", 2, 1.1),
    ("63", "ตาก", "tak", 2, 4.0),
    ("64", "สุโขทัย", "sukhothai", 2, 1.0),
    ("65", "พิษณุโลก", "phitsanulok", 3, 1.3),
    ("66", "พิจิตร", "phichit", 2, 0.8),
    ("67", "เพชรบูรณ์", "phetchabun", 3, 1.5),
    ("70", "ราชบุรี", "ratchaburi", 2, 1.2),
    ("71", "กาญจนบุรี", "kanchanaburi", 4, 2.6),
    ("72", "สุพรรณบุรี", "suphanburi", 3, 0.8),
    ("73", "นครปฐม", "nakhonpathom", 2, 0.4),
    ("74", "สมุทรสาคร", "samutsakhon", 1, 0.4),
    ("75", "สมุทรสงคราม", "samutsongkhram", 1, 0.5),
    ("76", "เพชรบุรี", "phetchaburi", 2, 1.3),
    ("77", "ประจวบคีรีขันธ์", "prachuap", 2, 1.3),
    ("80", "นครศรีธรรมราช", "nakhonsithammarat", 4, 1.2),
    ("81", "กระบี่", "krabi", 1, 1.6),
    ("82", "พังงา", "phangnga", 1, 1.6),
    ("83", "ภูเก็ต", "phuket", 1, 0.5),
    ("84", "สุราษฎร์ธานี", "suratthani", 3, 1.4),
    ("85", "ระนอง", "ranong", 1, 2.2),
    ("86", "ชุมพร", "chumphon", 2, 1.0),
    ("90", "สงขลา", "songkhla", 3, 1.0),
    ("91", "สตูล", "satun", 1, 1.6),
    ("92", "ตรัง", "trang", 2, 1.0),
    ("93", "พัทลุง", "phatthalung", 2, 1.0),
    ("94", "ปัตตานี", "pattani", 3, 1.5),
    ("95", "ยะลา", "yala", 3, 2.2),
    ("96", "นราธิวาส", "narathiwat", 3, 2.0),
)

PROVINCES: tuple[Province, ...] = tuple(Province(*row) for row in _PROVINCES)
PROVINCE_BY_NAME: dict[str, Province] = {p.name: p for p in PROVINCES}

BANGKOK = "กรุงเทพมหานคร"
BANGKOK_SECONDARY_ZONES = 2

# Secondary offices that serve two provinces (named first province first); every other province
# has its own สพม., Bangkok has two.
SECONDARY_PAIRS: tuple[tuple[str, str], ...] = (
    ("สิงห์บุรี", "อ่างทอง"),
    ("ปราจีนบุรี", "นครนายก"),
    ("ชลบุรี", "ระยอง"),
    ("จันทบุรี", "ตราด"),
    ("สมุทรสาคร", "สมุทรสงคราม"),
    ("ลำปาง", "ลำพูน"),
    ("แพร่", "น่าน"),
    ("พิษณุโลก", "อุตรดิตถ์"),
    ("อุทัยธานี", "ชัยนาท"),
    ("สุราษฎร์ธานี", "ชุมพร"),
    ("ภูเก็ต", "พังงา"),
    ("กระบี่", "ตรัง"),
    ("สงขลา", "สตูล"),
    ("หนองคาย", "บึงกาฬ"),
    ("นครพนม", "มุกดาหาร"),
    ("อุบลราชธานี", "อำนาจเจริญ"),
)


@dataclass(frozen=True)
class EsaPlan:
    """One ESA office before any school is drawn: its code, name and the provinces it serves."""

    esa_code: str
    esa_name: str
    level: EsaLevel
    provinces: tuple[Province, ...]
    zone: int  # 1.. for primary, 1.. within the province for secondary
    contact_email: str

    @property
    def province(self) -> Province:
        return self.provinces[0]

    @property
    def remoteness(self) -> float:
        return max(p.remoteness for p in self.provinces)


def _primary(province: Province) -> list[EsaPlan]:
    plans = []
    for zone in range(1, province.primary_zones + 1):
        if province.name == BANGKOK:
            name, mail = f"สพป.{province.name}", province.slug
        else:
            name, mail = f"สพป.{province.name} เขต {zone}", f"{province.slug}{zone}"
        plans.append(
            EsaPlan(
                esa_code=f"10{province.code}{zone:02d}",
                esa_name=name,
                level="primary",
                provinces=(province,),
                zone=zone,
                contact_email=f"it@{mail}.obec.go.th",
            )
        )
    return plans


def _secondary() -> list[EsaPlan]:
    paired = {name: pair for pair in SECONDARY_PAIRS for name in pair}
    plans = []
    for province in PROVINCES:
        pair = paired.get(province.name)
        if pair is not None and pair[0] != province.name:
            continue  # served by the office named after the first province of the pair
        if province.name == BANGKOK:
            for zone in range(1, BANGKOK_SECONDARY_ZONES + 1):
                plans.append(
                    EsaPlan(
                        esa_code=f"10{province.code}{89 + zone}",
                        esa_name=f"สพม.{province.name} เขต {zone}",
                        level="secondary",
                        provinces=(province,),
                        zone=zone,
                        contact_email=f"it@spm-{province.slug}{zone}.obec.go.th",
                    )
                )
            continue
        provinces = (province,) if pair is None else tuple(PROVINCE_BY_NAME[n] for n in pair)
        plans.append(
            EsaPlan(
                esa_code=f"10{province.code}90",
                esa_name="สพม." + " ".join(p.name for p in provinces),
                level="secondary",
                provinces=provinces,
                zone=1,
                contact_email=f"it@spm-{province.slug}.obec.go.th",
            )
        )
    return plans


def esa_plans() -> list[EsaPlan]:
    """All ESA offices, ordered by code (so Bangkok's primary and secondary offices come first)."""
    plans = [plan for province in PROVINCES for plan in _primary(province)] + _secondary()
    return sorted(plans, key=lambda plan: plan.esa_code)
