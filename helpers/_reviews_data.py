"""Machinery behind :func:`helpers.load_reviews`: the verified download and safe extraction
of the real data set (full profile), and the generator of the tiny profile's reviews.

Both give the same shape: a dict of DataFrames ``en_train``, ``en_test``, ``de_test``,
``jp_test`` (the generator adds ``fr_test``), each with columns ``label`` (0 negative,
1 positive) and ``text``.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from . import _mirror
from ._download import ChecksumError, download_verified, sha1_of
from .cache import book_cache_dir

DATASET_URL = (
    "https://automl-mm-bench.s3.amazonaws.com/multilingual-datasets/"
    "amazon_review_sentiment_cross_lingual.zip"
)
DATASET_SHA1 = "9c701aa6fc42ec3fe429bfe85a8dac4532ab9fcd"
DATASET_FOLDER = "amazon_review_sentiment_cross_lingual"
DATASET_FILES = (
    "en_train.tsv",
    "en_test.tsv",
    "de_train.tsv",
    "de_test.tsv",
    "jp_test.tsv",
)
SAMPLE_SEED = 123  # random_state of the original tutorial


def extract_zip_safely(archive: Path, target: Path) -> Path:
    """Extract ``archive`` into ``target``, refusing members that would land outside it.

    Extraction happens in a temporary folder that is renamed to ``target`` at the end, so a
    failure leaves no half-extracted folder behind.

    Raises
    ------
    ValueError
        If the archive is not a valid zip file or a member's path escapes ``target``.
    """
    target = Path(target)
    staging = Path(
        tempfile.mkdtemp(
            dir=target.parent, prefix=target.name, suffix=".part"
        )
    )
    try:
        try:
            with zipfile.ZipFile(archive) as zipped:
                root = staging.resolve()
                for member in zipped.infolist():
                    destination = (root / member.filename).resolve()
                    if (
                        destination != root
                        and root not in destination.parents
                    ):
                        raise ValueError(
                            f"{archive} holds {member.filename!r}, which would be written outside "
                            f"{target}; refusing to extract it"
                        )
                zipped.extractall(staging)
        except zipfile.BadZipFile as error:
            raise ValueError(
                f"{archive} is not a valid zip file ({error}); delete it and download again"
            ) from error
        if target.exists():
            shutil.rmtree(target)
        staging.replace(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return target


def dataset_folder(url: str | None = None, sha1: str | None = None) -> Path:
    """The extracted data set: from the mirror if one is set, else downloaded from ``url``.

    The extraction is keyed by the archive's SHA-1, so data from a stand-in mirror
    (``make rehearsal``) is never taken for the real data set, or the other way round.

    Raises
    ------
    OfflineError
        If the archive must be downloaded and its server cannot be reached.
    """
    url, sha1 = url or DATASET_URL, sha1 or DATASET_SHA1
    mirrored = _mirror.mirrored_archive(sha1)
    if mirrored is not None:
        sha1 = mirrored[1]
    data_root = book_cache_dir() / "data"
    extracted = data_root / f"{DATASET_FOLDER}-{sha1[:10]}"
    inner = extracted / DATASET_FOLDER
    if all((inner / name).is_file() for name in DATASET_FILES):
        return inner
    if mirrored is not None:
        archive = mirrored[0]
        actual = sha1_of(archive)
        if actual != sha1:
            raise ChecksumError(
                f"the mirror's {archive} has SHA-1 {actual}, expected {sha1}: it is damaged or not the "
                "review archive. Nothing was extracted; copy the mirror again or refill it with `make mirror`."
            )
    else:
        archive = download_verified(
            url, data_root / f"{DATASET_FOLDER}.zip", sha1
        )
    data_root.mkdir(parents=True, exist_ok=True)
    extract_zip_safely(archive, extracted)
    missing = [
        name for name in DATASET_FILES if not (inner / name).is_file()
    ]
    if missing:
        shutil.rmtree(extracted)
        raise ValueError(
            f"{archive} lacks {', '.join(missing)}; it is not the cross-lingual review data set"
        )
    return inner


def read_sample(path: Path, n: int) -> pd.DataFrame:
    frame = pd.read_csv(path, sep="\t", header=None, names=["label", "text"])
    return frame.sample(n, random_state=SAMPLE_SEED).reset_index(drop=True)


# --- the generator ------------------------------------------------------------------------
# Each language has products, positive and negative verdicts, and neutral sentences that say
# nothing about sentiment. A review mixes 1-2 verdicts of its label with 0-3 neutral
# sentences and, half the time it has two verdicts, one contrary remark. Both labels draw
# the same counts, so the label is carried by words and length says nothing about it.

_LANGUAGES: dict[str, dict[str, list[str]]] = {
    "en": {
        "products": [
            "blender",
            "novel",
            "headset",
            "kettle",
            "backpack",
            "lamp",
            "keyboard",
            "tent",
            "camera",
            "jacket",
            "coffee maker",
            "board game",
            "vacuum",
            "phone case",
        ],
        "positive": [
            "I love this {p}.",
            "The {p} works perfectly.",
            "Excellent quality, highly recommended.",
            "Best {p} I have ever bought.",
            "It exceeded my expectations.",
            "Great value for the money.",
            "Sturdy, reliable and beautiful.",
            "My family is delighted with it.",
            "Five stars, I would buy it again.",
            "Fantastic, it does exactly what it promises.",
        ],
        "negative": [
            "I regret buying this {p}.",
            "The {p} broke after a week.",
            "Terrible quality, avoid it.",
            "Worst {p} I have ever owned.",
            "It was a complete disappointment.",
            "A waste of money.",
            "Flimsy, unreliable and ugly.",
            "I sent it back for a refund.",
            "One star, I would never buy it again.",
            "Awful, it does not do what it promises.",
        ],
        "neutral": [
            "I bought the {p} last month.",
            "It arrived on a Tuesday.",
            "The box was blue.",
            "I use it mostly in the kitchen.",
            "My sister recommended the brand.",
            "The manual is twelve pages long.",
            "It came in two colours.",
            "I ordered it online.",
            "The {p} weighs about two kilos.",
            "Delivery took four days.",
        ],
    },
    "de": {
        "products": [
            "Mixer",
            "Roman",
            "Kopfhörer",
            "Wasserkocher",
            "Rucksack",
            "Lampe",
            "Tastatur",
            "Zelt",
            "Kamera",
            "Jacke",
            "Kaffeemaschine",
            "Brettspiel",
            "Staubsauger",
            "Handyhülle",
        ],
        "positive": [
            "Ich liebe diesen Artikel ({p}).",
            "Der {p} funktioniert perfekt.",
            "Ausgezeichnete Qualität, sehr zu empfehlen.",
            "Das Beste, was ich je gekauft habe.",
            "Es hat meine Erwartungen übertroffen.",
            "Super Preis-Leistungs-Verhältnis.",
            "Stabil, zuverlässig und schön.",
            "Meine Familie ist begeistert.",
            "Fünf Sterne, ich würde es wieder kaufen.",
            "Fantastisch, hält was es verspricht.",
        ],
        "negative": [
            "Ich bereue den Kauf ({p}).",
            "Der {p} ist nach einer Woche kaputt gegangen.",
            "Schreckliche Qualität, Finger weg.",
            "Das Schlechteste, was ich je hatte.",
            "Eine totale Enttäuschung.",
            "Rausgeworfenes Geld.",
            "Wackelig, unzuverlässig und hässlich.",
            "Ich habe es zurückgeschickt.",
            "Ein Stern, nie wieder.",
            "Furchtbar, hält nicht was es verspricht.",
        ],
        "neutral": [
            "Ich habe den {p} letzten Monat gekauft.",
            "Er kam an einem Dienstag an.",
            "Die Schachtel war blau.",
            "Ich benutze ihn meistens in der Küche.",
            "Meine Schwester hat die Marke empfohlen.",
            "Die Anleitung hat zwölf Seiten.",
            "Es gab ihn in zwei Farben.",
            "Ich habe online bestellt.",
            "Er wiegt etwa zwei Kilo.",
            "Die Lieferung dauerte vier Tage.",
        ],
    },
    "fr": {
        "products": [
            "mixeur",
            "roman",
            "casque",
            "bouilloire",
            "sac à dos",
            "lampe",
            "clavier",
            "tente",
            "appareil photo",
            "veste",
            "cafetière",
            "jeu de société",
            "aspirateur",
            "coque",
        ],
        "positive": [
            "J'adore ce produit ({p}).",
            "Le {p} fonctionne parfaitement.",
            "Excellente qualité, je recommande vivement.",
            "Le meilleur achat de ma vie.",
            "Il a dépassé mes attentes.",
            "Très bon rapport qualité-prix.",
            "Solide, fiable et beau.",
            "Toute ma famille est ravie.",
            "Cinq étoiles, je le rachèterais.",
            "Fantastique, il tient ses promesses.",
        ],
        "negative": [
            "Je regrette cet achat ({p}).",
            "Le {p} s'est cassé au bout d'une semaine.",
            "Qualité horrible, à éviter.",
            "Le pire produit que j'ai jamais eu.",
            "Une déception totale.",
            "De l'argent jeté par la fenêtre.",
            "Fragile, peu fiable et laid.",
            "Je l'ai renvoyé pour être remboursé.",
            "Une étoile, plus jamais.",
            "Affreux, il ne tient pas ses promesses.",
        ],
        "neutral": [
            "J'ai acheté le {p} le mois dernier.",
            "Il est arrivé un mardi.",
            "La boîte était bleue.",
            "Je l'utilise surtout dans la cuisine.",
            "Ma sœur m'a conseillé la marque.",
            "Le mode d'emploi fait douze pages.",
            "Il existe en deux couleurs.",
            "Je l'ai commandé en ligne.",
            "Il pèse environ deux kilos.",
            "La livraison a pris quatre jours.",
        ],
    },
    "jp": {
        "products": [
            "ミキサー",
            "小説",
            "ヘッドホン",
            "電気ケトル",
            "リュック",
            "ランプ",
            "キーボード",
            "テント",
            "カメラ",
            "ジャケット",
            "コーヒーメーカー",
            "ボードゲーム",
            "掃除機",
            "スマホケース",
        ],
        "positive": [
            "この{p}が大好きです。",
            "{p}は完璧に動きます。",
            "品質が素晴らしく、おすすめです。",
            "今まで買った中で最高です。",
            "期待以上でした。",
            "値段以上の価値があります。",
            "丈夫で信頼でき、美しいです。",
            "家族もとても喜んでいます。",
            "星五つ、また買います。",
            "最高です、説明どおりの性能です。",
        ],
        "negative": [
            "この{p}を買って後悔しています。",
            "{p}は一週間で壊れました。",
            "品質がひどいので避けてください。",
            "今まで持った中で最悪です。",
            "本当にがっかりしました。",
            "お金の無駄でした。",
            "安っぽくて信頼できず、見た目も悪いです。",
            "返品して返金してもらいました。",
            "星一つ、二度と買いません。",
            "ひどい、説明どおりに動きません。",
        ],
        "neutral": [
            "先月{p}を買いました。",
            "火曜日に届きました。",
            "箱は青色でした。",
            "主に台所で使っています。",
            "姉がこのブランドを勧めてくれました。",
            "説明書は十二ページです。",
            "色は二種類ありました。",
            "ネットで注文しました。",
            "重さは約二キロです。",
            "配達には四日かかりました。",
        ],
    },
}
_JOINER = {"jp": ""}


def _one_review(
    words: dict[str, list[str]],
    label: int,
    rng: np.random.Generator,
    joiner: str,
) -> str:
    product = words["products"][rng.integers(len(words["products"]))]
    own, other = (
        ("positive", "negative") if label == 1 else ("negative", "positive")
    )
    n_own = int(rng.integers(1, 3))
    sentences = [
        words[own][i]
        for i in rng.choice(len(words[own]), size=n_own, replace=False)
    ]
    if (
        n_own == 2 and rng.random() < 0.5
    ):  # a contrary remark, always outnumbered
        sentences.append(words[other][rng.integers(len(words[other]))])
    sentences += [
        words["neutral"][i]
        for i in rng.choice(
            len(words["neutral"]), size=rng.integers(0, 4), replace=False
        )
    ]
    rng.shuffle(sentences)
    return joiner.join(s.format(p=product) for s in sentences)


def _generate(
    language: str, n: int, rng: np.random.Generator
) -> pd.DataFrame:
    labels = rng.permutation(np.arange(n) % 2)
    words, joiner = _LANGUAGES[language], _JOINER.get(language, " ")
    texts = [_one_review(words, int(label), rng, joiner) for label in labels]
    return pd.DataFrame({"label": labels.astype(int), "text": texts})


def generate_reviews(
    n_train: int, n_test: int, seed: int = SAMPLE_SEED
) -> dict[str, pd.DataFrame]:
    """Generate labelled synthetic product reviews in English, German, French and Japanese.

    Labels are balanced (exactly half positive when the size is even). The same ``seed``
    always gives the same reviews. Languages have the real data set's codes (``jp`` for
    Japanese).
    """
    if n_train < 2 or n_test < 2:
        raise ValueError(
            f"need at least 2 rows per split, got n_train={n_train}, n_test={n_test}"
        )
    rng = np.random.default_rng(seed)
    return {
        "en_train": _generate("en", n_train, rng),
        "en_test": _generate("en", n_test, rng),
        "de_test": _generate("de", n_test, rng),
        "fr_test": _generate("fr", n_test, rng),
        "jp_test": _generate("jp", n_test, rng),
    }
