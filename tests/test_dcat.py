"""With ckanext-dcat: the seeded catalogue is valid DCAT-AP 3.0.1 (the SEMIC SHACL shapes, mandatory and range, run
by pyshacl over every page of /catalog.ttl), and carries the order: frequency, legislation, kk/ru/en texts."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SKOS, Namespace

import ckan.tests.factories as factories
import ckan.tests.helpers as helpers

from ckanext.mes_schedule import schedule, seed as seeding, settings, vocab
from tests.fixtures import legal

DCT = Namespace("http://purl.org/dc/terms/")
DCAT = Namespace("http://www.w3.org/ns/dcat#")
DCATAP = Namespace("http://data.europa.eu/r5r/")
ELI = Namespace("http://data.europa.eu/eli/ontology#")
FOAF = Namespace("http://xmlns.com/foaf/0.1/")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
SH = Namespace("http://www.w3.org/ns/shacl#")

QUARTERLY = "http://publications.europa.eu/resource/authority/frequency/QUARTERLY"
ORDER_URL = "https://adilet.zan.kz/kaz/docs/V1600013381"
FILE_TYPE = "http://publications.europa.eu/resource/authority/file-type/"
IANA = "https://www.iana.org/assignments/media-types/"
LANGUAGE = "http://publications.europa.eu/resource/authority/language/"
EDUC = "http://publications.europa.eu/resource/authority/data-theme/EDUC"

# The DCAT-AP 3.0.1 shapes as SEMIC publishes them, beside the clone (CI has shared/ at ../shared).
SHAPES = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "dcat-ap-3.0.1"
SHAPE_FILES = ("shapes.ttl", "range.ttl")

PLUGINS = "mes_schedule scheming_datasets scheming_organizations activity dcat structured_data"


def _sysadmin() -> dict:
    """Writes need a real user: the activity plugin records who made each change."""
    return {"user": factories.Sysadmin()["name"], "ignore_auth": True}


def _texts(graph: Graph, subject: object, predicate: URIRef) -> dict[str | None, str]:
    return {value.language: str(value) for value in graph.objects(subject, predicate) if isinstance(value, Literal)}


@pytest.mark.ckan_config("ckan.plugins", PLUGINS)
@pytest.mark.ckan_config("ckanext.dcat.rdf.profiles", "euro_dcat_ap_3 mes_schedule")
@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
def test_frequency_legislation_and_titles_in_the_dataset_rdf(app):
    org = factories.Organization()
    dataset = factories.Dataset(
        owner_org=org["id"],
        title="Мектеп мұғалімдері туралы статистикалық деректер",
        title_ru="Статистические данные об учителях школ",
        title_en="Statistics on school teachers",
        notes="",
        **legal(11, "quarterly day=10", QUARTERLY),
    )
    graph = Graph().parse(data=app.get(f"/dataset/{dataset['name']}.ttl").body, format="turtle")
    (subject,) = set(graph.subjects(DCT.accrualPeriodicity, None))
    assert list(graph.objects(subject, DCT.accrualPeriodicity)) == [URIRef(QUARTERLY)]
    assert list(graph.objects(subject, DCATAP.applicableLegislation)) == [URIRef(ORDER_URL)]
    # The legislation is an ELI legal resource with the order's title in the portal's three languages.
    assert (URIRef(ORDER_URL), RDF.type, ELI.LegalResource) in graph
    assert _texts(graph, URIRef(ORDER_URL), ELI.title) == settings.order().title
    assert _texts(graph, subject, DCT.title) == {
        "kk": "Мектеп мұғалімдері туралы статистикалық деректер",
        "ru": "Статистические данные об учителях школ",
        "en": "Statistics on school teachers",
    }
    # No description written: the titles stand in, so the dataset keeps DCAT-AP's mandatory dct:description.
    assert _texts(graph, subject, DCT.description) == _texts(graph, subject, DCT.title)


# ------------------------------------------------------------------------------------ the whole catalogue


def _catalogue_pages(app) -> list[Graph]:
    """Every page of /catalog.ttl, following hydra:next as a harvester does."""
    pages: list[Graph] = []
    url: str | None = "/catalog.ttl"
    while url:
        graph = Graph().parse(data=app.get(url).body, format="turtle")
        pages.append(graph)
        following = [urlsplit(str(value)) for value in graph.objects(None, HYDRA.next)]
        url = f"{following[0].path}?{following[0].query}" if following else None
        assert len(pages) <= 10, "the catalogue's pages do not end"
    return pages


def _violations(data: Graph) -> str:
    """pyshacl's report of the DCAT-AP 3.0.1 violations in `data` (empty when there are none)."""
    import pyshacl

    shapes = Graph()
    for name in SHAPE_FILES:
        shapes.parse(SHAPES / name, format="turtle")
    # No inference: a value must carry the class the shapes name, as a strict harvester reads it.
    conforms, report, text = pyshacl.validate(data, shacl_graph=shapes, inference="none", allow_warnings=True)
    return "" if conforms else text


@pytest.fixture
def catalogue(app, create_with_upload):
    """The seeded ministry (57 datasets), plus resources and datasets of the kinds publishers add."""
    if not all((SHAPES / name).is_file() for name in SHAPE_FILES):
        pytest.skip(f"the DCAT-AP 3.0.1 SHACL shapes are not at {SHAPES} (shared/ beside the clone)")
    seeding.seed()
    context = _sysadmin()
    order = settings.order()
    item10 = helpers.call_action("package_show", id=seeding.dataset_name(order.item(10)))
    create_with_upload(
        "region,schools\nAstana,120\n", "schools.csv", context=dict(context),
        package_id=item10["id"], url="schools.csv", name="Schools 2026",
    )
    for url, fmt in (("http://example.com/q4.xlsx", "XLSX"), ("http://example.com/q4", "text/csv"),
                     ("http://example.com/q4.sav", "SAV"), ("http://example.com/about", "")):
        helpers.call_action("resource_create", context=dict(context), package_id=item10["id"], url=url, format=fmt)
    helpers.call_action(
        "package_patch", context=dict(context), id=seeding.dataset_name(order.item(12)),
        maintainer="Aigerim", maintainer_email="aigerim@example.kz",
    )
    ministry = helpers.call_action("organization_show", id=settings.organization_name())
    private = factories.Dataset(owner_org=ministry["id"], private=True, notes="draft", title="Private draft")
    other_org = factories.Organization(title="Мектеп", title_ru="Школа", title_en="School")
    other = factories.Dataset(owner_org=other_org["id"], title="Сабақ кестесі", notes="Кесте")
    return {"item10": item10, "private": private, "other": other, "other_org": other_org, "ministry": ministry}


@pytest.mark.ckan_config("ckan.plugins", PLUGINS)
@pytest.mark.ckan_config("ckanext.dcat.rdf.profiles", "euro_dcat_ap_3 mes_schedule")
@pytest.mark.ckan_config("ckanext.dcat.datasets_per_page", "20")
@pytest.mark.ckan_config("ckanext.mes_schedule.contact_email", "opendata@example.kz")
@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestSeededCatalogue:
    def test_every_page_and_the_whole_validate_against_dcat_ap_3(self, app, catalogue):
        pages = _catalogue_pages(app)
        assert len(pages) == 3  # 58 public datasets, 20 a page
        whole = Graph()
        for number, page in enumerate(pages, start=1):
            assert _violations(page) == "", f"page {number}"
            whole += page
        assert _violations(whole) == ""
        # All public datasets, and only those.
        ids = {str(value) for value in whole.objects(None, DCT.identifier)}
        public = helpers.call_action("package_search", rows=1000)["results"]
        assert {d["id"] for d in public} <= ids and len(public) == 58
        assert catalogue["private"]["id"] not in ids

    def test_what_the_shapes_required_is_the_orders_and_the_ministrys_in_iris(self, app, catalogue):
        whole = Graph()
        for page in _catalogue_pages(app):
            whole += page
        (catalog,) = set(whole.subjects(RDF.type, DCAT.Catalog))
        ministry = catalogue["ministry"]
        names = {"kk": ministry["title"], "ru": ministry["title_ru"], "en": ministry["title_en"]}
        # The catalogue: described, published by the ministry (names in three languages), in EU language IRIs.
        assert set(_texts(whole, catalog, DCT.description)) == {"kk", "ru", "en"}
        (publisher,) = set(whole.objects(catalog, DCT.publisher))
        assert _texts(whole, publisher, FOAF.name) == names
        assert {URIRef(LANGUAGE + code) for code in ("KAZ", "RUS", "ENG")} <= set(whole.objects(catalog, DCT.language))
        # Every seeded dataset: the order's description in kk/ru/en, the legislation, the ministry as publisher,
        # contact point and theme.
        act = URIRef(ORDER_URL)
        assert (act, RDF.type, ELI.LegalResource) in whole
        assert set(_texts(whole, act, ELI.title)) == {"kk", "ru", "en"}
        seeded = set(whole.subjects(DCATAP.applicableLegislation, act))
        assert len(seeded) == 57
        for dataset in seeded:
            descriptions = _texts(whole, dataset, DCT.description)
            assert set(descriptions) == {"kk", "ru", "en"} and descriptions != _texts(whole, dataset, DCT.title)
            assert set(whole.objects(dataset, DCT.publisher)) == {publisher}
            assert URIRef(EDUC) in set(whole.objects(dataset, DCAT.theme))
            (contact,) = whole.objects(dataset, DCAT.contactPoint)
            assert (contact, RDF.type, VCARD.Kind) in whole
        assert (URIRef(EDUC), SKOS.prefLabel, Literal("Education, culture and sport", lang="en")) in whole
        contacts = [c for d in seeded for c in whole.objects(d, DCAT.contactPoint)]
        emails = {str(e) for c in contacts for e in whole.objects(c, VCARD.hasEmail)}
        # The configured address, except where the publisher named a maintainer.
        assert emails == {"mailto:opendata@example.kz", "mailto:aigerim@example.kz"}
        # Another organisation's dataset: its own publisher names, no ministry theme.
        other = URIRef(f"http://test.ckan.net/dataset/{catalogue['other']['id']}")
        (other_publisher,) = whole.objects(other, DCT.publisher)
        assert _texts(whole, other_publisher, FOAF.name) == {"kk": "Мектеп", "ru": "Школа", "en": "School"}
        assert list(whole.objects(other, DCAT.theme)) == []
        self._formats_and_media_types_are_iris(whole)
        # structured_data: the dataset page embeds schema.org JSON-LD.
        assert 'type="application/ld+json"' in app.get(f"/dataset/{catalogue['item10']['name']}").body

    @staticmethod
    def _formats_and_media_types_are_iris(whole: Graph) -> None:
        found = {}
        for distribution in whole.subjects(RDF.type, DCAT.Distribution):
            (url,) = whole.objects(distribution, DCAT.accessURL)
            formats = list(whole.objects(distribution, DCT["format"]))
            medias = [str(m) for m in whole.objects(distribution, DCAT.mediaType)]
            found[str(url).rsplit("/", 1)[-1]] = (formats, medias)
        csv = ([URIRef(FILE_TYPE + "CSV")], [IANA + "text/csv"])
        assert found["schools.csv"] == csv  # the upload
        assert found["q4"] == csv  # a link whose format is a media type
        assert found["q4.xlsx"] == (
            [URIRef(FILE_TYPE + "XLSX")], [IANA + "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"]
        )
        # A format outside the table keeps the publisher's word, on a format node.
        (sav,), _ = found["q4.sav"]
        assert (sav, RDF.type, DCT.MediaTypeOrExtent) in whole
        assert str(next(whole.objects(sav, RDFS.label))) == "SAV"
        assert found["about"] == ([], [])


# ------------------------------------------------------------------------------ the seed's descriptions


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestSeededDescriptions:
    def test_each_language_says_what_the_dataset_is_its_obligation_frequency_and_deadline(self):
        order = settings.order()
        item = order.item(10)
        seeding.seed(items=[item])
        shown = helpers.call_action("package_show", id=seeding.dataset_name(item))
        for lang, field in (("kk", "notes"), ("ru", "notes_ru"), ("en", "notes_en")):
            text = shown[field]
            assert text == seeding.description(seeding.legal_fields(order, item), lang)
            assert "120" in text and "13381" in text and " 10" in text
            assert vocab.frequency_label(vocab.frequency_uri(item.frequency), lang) in text
            assert schedule.describe(item.rule, lang) in text
        assert "Order No. 120" in shown["notes_en"] and "приказом" in shown["notes_ru"]

    def test_a_publishers_description_is_kept_and_an_empty_one_filled(self):
        order = settings.order()
        item = order.item(20)
        name = seeding.dataset_name(item)
        seeding.seed(items=[item])
        helpers.call_action("package_patch", context=_sysadmin(), id=name, notes="Өз сипаттамамыз", notes_en="")
        report = seeding.seed(items=[item])
        assert report.updated == [name] and set(report.changes[name]) == {"notes_en"}
        shown = helpers.call_action("package_show", id=name)
        assert shown["notes"] == "Өз сипаттамамыз"
        assert shown["notes_en"] == seeding.description(seeding.legal_fields(order, item), "en")
        assert seeding.seed(items=[item]).unchanged == [name]

    def test_a_changed_rule_reaches_the_seeds_own_words_only(self):
        order = settings.order()
        item = order.item(10)
        name = seeding.dataset_name(item)
        seeding.seed(items=[item])
        helpers.call_action("package_patch", context=_sysadmin(), id=name, notes_ru="Собственное описание")
        changed = dataclasses.replace(
            item, rule_text="quarterly day=15", rule=schedule.parse_rule("quarterly day=15")
        )
        seeding.seed(items=[changed])
        shown = helpers.call_action("package_show", id=name)
        assert schedule.describe("quarterly day=15", "kk") in shown["notes"]
        assert schedule.describe("quarterly day=15", "en") in shown["notes_en"]
        assert shown["notes_ru"] == "Собственное описание"
