"""A ckanext-dcat RDF profile that makes the catalogue valid DCAT-AP 3.0.1 (the SEMIC SHACL shapes, mandatory and
range) and carries the order: its frequency as dct:accrualPeriodicity, the legal basis as an eli:LegalResource, the
titles, descriptions and publisher names in Kazakh, Russian and English, formats and media types as IRIs of their
authorities, and the ministry's contact point and theme from the configuration.

Enable it after a DCAT-AP profile, e.g. `ckanext.dcat.rdf.profiles = euro_dcat_ap_3 mes_schedule`: it completes
and corrects what that profile wrote. What belongs in ckanext-dcat itself is listed in docs/dcat-upstream.md.
Only imported when ckanext-dcat is installed (entry point `ckan.rdf.profiles`).
"""
from __future__ import annotations

import re
from typing import Any, Iterable

from rdflib import BNode, Literal, Namespace, URIRef
from rdflib.namespace import RDF, RDFS, SKOS, XSD

import ckan.plugins.toolkit as tk

from ckanext.dcat.profiles.base import DCAT, DCATAP, DCT, FOAF, VCARD, RDFProfile
from ckanext.dcat.utils import publisher_uri_organization_fallback
from ckanext.mes_schedule import settings, vocab

__all__ = [
    "MesScheduleDCATProfile",
    "FILE_TYPE_BASE",
    "FORMATS",
    "LANGUAGE_BASE",
    "LANGUAGES",
    "MEDIA_TYPE_BASE",
    "format_iris",
    "media_type_iri",
]

ELI = Namespace("http://data.europa.eu/eli/ontology#")

# EU Publications Office authority tables and IANA's media type registry: DCAT-AP wants IRIs, not words.
FILE_TYPE_BASE = "http://publications.europa.eu/resource/authority/file-type/"
LANGUAGE_BASE = "http://publications.europa.eu/resource/authority/language/"
DATA_THEME_BASE = settings.DATA_THEME_BASE
MEDIA_TYPE_BASE = "https://www.iana.org/assignments/media-types/"

# The portal's languages and their codes in the EU language table.
LANGUAGES = {"kk": "KAZ", "ru": "RUS", "en": "ENG"}

# A resource's format as publishers write it (CKAN's `format`, upper-cased, without a leading dot) -> the EU
# file-type code and the IANA media type (None where IANA registers none). Common formats only: another format
# stays the publisher's word, on a node of its own (see `_distribution_format`).
FORMATS: dict[str, tuple[str, str | None]] = {
    "CSV": ("CSV", "text/csv"),
    "TSV": ("TSV", "text/tab-separated-values"),
    "XLSX": ("XLSX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "XLS": ("XLS", "application/vnd.ms-excel"),
    "ODS": ("ODS", "application/vnd.oasis.opendocument.spreadsheet"),
    "JSON": ("JSON", "application/json"),
    "GEOJSON": ("GEOJSON", "application/geo+json"),
    "JSON-LD": ("JSON_LD", "application/ld+json"),
    "JSONLD": ("JSON_LD", "application/ld+json"),
    "XML": ("XML", "application/xml"),
    "RDF": ("RDF_XML", "application/rdf+xml"),
    "RDF/XML": ("RDF_XML", "application/rdf+xml"),
    "TTL": ("RDF_TURTLE", "text/turtle"),
    "TURTLE": ("RDF_TURTLE", "text/turtle"),
    "PDF": ("PDF", "application/pdf"),
    "DOC": ("DOC", "application/msword"),
    "DOCX": ("DOCX", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "ODT": ("ODT", "application/vnd.oasis.opendocument.text"),
    "TXT": ("TXT", "text/plain"),
    "HTML": ("HTML", "text/html"),
    "ZIP": ("ZIP", "application/zip"),
    "KML": ("KML", "application/vnd.google-earth.kml+xml"),
    "SHP": ("SHP", None),
}

# The EU data themes' English names (the authority's preferred labels): a skos:Concept needs one, and the
# vocabulary is not fetched at run time.
DATA_THEMES = {
    "AGRI": "Agriculture, fisheries, forestry and food",
    "ECON": "Economy and finance",
    "EDUC": "Education, culture and sport",
    "ENER": "Energy",
    "ENVI": "Environment",
    "GOVE": "Government and public sector",
    "HEAL": "Health",
    "INTR": "International issues",
    "JUST": "Justice, legal system and public safety",
    "REGI": "Regions and cities",
    "SOCI": "Population and society",
    "TECH": "Science and technology",
    "TRAN": "Transport",
}

_MEDIA_TYPE_RE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
_BY_MEDIA_TYPE = {media: code for code, media in FORMATS.values() if media}

# The portal's primary language is Kazakh; CKAN's `title`/`notes` hold the Kazakh text.
_LANG_FIELDS = (("title", DCT.title), ("notes", DCT.description))
_LANG_SUFFIXES = (("kk", ""), ("ru", "_ru"), ("en", "_en"))


def format_iris(value: str | None) -> tuple[URIRef, URIRef | None] | None:
    """The EU file-type IRI and IANA media type IRI of a format as publishers write it ("CSV", ".csv"), or None
    for a format outside `FORMATS`."""
    key = (value or "").strip().lstrip(".").upper()
    if key not in FORMATS:
        return None
    code, media = FORMATS[key]
    return URIRef(FILE_TYPE_BASE + code), URIRef(MEDIA_TYPE_BASE + media) if media else None


def media_type_iri(value: str | None) -> URIRef | None:
    """The IANA IRI of a media type ("text/csv; charset=utf-8" -> .../media-types/text/csv); None if the value
    is not a media type."""
    text = (value or "").strip()
    if text.startswith(MEDIA_TYPE_BASE):
        return URIRef(text)
    text = text.split(";")[0].strip().lower()
    return URIRef(MEDIA_TYPE_BASE + text) if _MEDIA_TYPE_RE.match(text) else None


def _tagged(values: dict[str, Any], field: str) -> list[Literal]:
    """A record's text field (`title`, `description`, ...) in each of its languages, language-tagged."""
    return [
        Literal(str(values[field + suffix]).strip(), lang=lang)
        for lang, suffix in _LANG_SUFFIXES
        if str(values.get(field + suffix) or "").strip()
    ]


def _organization(id_or_name: str | None) -> dict[str, Any] | None:
    if not id_or_name:
        return None
    try:
        return tk.get_action("organization_show")(
            {"ignore_auth": True},
            {"id": id_or_name, "include_datasets": False, "include_users": False, "include_groups": False,
             "include_tags": False, "include_followers": False},
        )
    except tk.ObjectNotFound:
        return None


class MesScheduleDCATProfile(RDFProfile):
    # --------------------------------------------------------------------------------------------- datasets
    def graph_from_dataset(self, dataset_dict: dict[str, Any], dataset_ref: Any) -> None:
        self._bind()
        self._frequency(dataset_dict, dataset_ref)
        if dataset_dict.get("mes_schedule_item") not in (None, ""):
            self._legislation(dataset_ref)
        self._languages_of_texts(dataset_dict, dataset_ref)
        org = _organization((dataset_dict.get("organization") or {}).get("id"))
        for publisher in list(self.g.objects(dataset_ref, DCT.publisher)):
            if org:
                self._names(publisher, FOAF.name, org)
        if org and self._ministrys(dataset_dict, org):
            self._ministry_contact_and_theme(dataset_ref, org)
        for contact in list(self.g.objects(dataset_ref, DCAT.contactPoint)):
            # DCAT-AP's range is vcard:Kind; ckanext-dcat types contacts vcard:Organization only, which a
            # validator without RDFS inference does not take for a Kind.
            self.g.add((contact, RDF.type, VCARD.Kind))
        for distribution in list(self.g.objects(dataset_ref, DCAT.distribution)):
            self._distribution_format(distribution)

    def _frequency(self, dataset_dict: dict[str, Any], dataset_ref: Any) -> None:
        code = vocab.frequency_code(dataset_dict.get("mes_schedule_frequency"))
        if code:
            frequency = URIRef(vocab.frequency_uri(code))
            # One periodicity only: the legal one replaces whatever a generic `frequency` field produced.
            self.g.remove((dataset_ref, DCT.accrualPeriodicity, None))
            self.g.add((dataset_ref, DCT.accrualPeriodicity, frequency))
            self.g.add((frequency, RDF.type, DCT.Frequency))

    def _legislation(self, dataset_ref: Any) -> None:
        """The order as DCAT-AP's applicable legislation: an ELI legal resource with its title in kk/ru/en."""
        try:
            order = settings.order()
        except Exception:  # a broken order file must not break the RDF endpoint
            return
        act = URIRef(order.url)
        g = self.g
        g.add((dataset_ref, DCATAP.applicableLegislation, act))
        g.add((act, RDF.type, ELI.LegalResource))
        for lang in LANGUAGES:
            if order.title.get(lang):
                g.add((act, ELI.title, Literal(order.title[lang], lang=lang)))
        g.add((act, ELI.date_document, Literal(order.date.isoformat(), datatype=XSD.date)))
        g.add((act, ELI.id_local, Literal(order.registration_number)))

    def _languages_of_texts(self, dataset_dict: dict[str, Any], dataset_ref: Any) -> None:
        for field, predicate in _LANG_FIELDS:
            if dataset_dict.get(field):
                # Tag the original with its language, and add the translations beside it.
                self.g.remove((dataset_ref, predicate, Literal(dataset_dict[field])))
            for literal in _tagged(dataset_dict, field):
                self.g.add((dataset_ref, predicate, literal))
        if (dataset_ref, DCT.description, None) not in self.g:
            # DCAT-AP requires a description; a dataset whose publisher wrote none (the seeded ones have the
            # order's words) is described by its titles rather than left out of a valid catalogue.
            for literal in _tagged(dataset_dict, "title"):
                self.g.add((dataset_ref, DCT.description, literal))

    def _bind(self) -> None:
        for prefix, namespace in (("eli", ELI), ("dcatap", DCATAP), ("vcard", VCARD), ("skos", SKOS)):
            self.g.bind(prefix, namespace)

    def _names(self, node: Any, predicate: Any, org: dict[str, Any]) -> None:
        """An organisation's names, one per language (scheming's `title`, `title_ru`, `title_en`)."""
        names = _tagged(org, "title")
        if names:
            self.g.remove((node, predicate, None))
            for name in names:
                self.g.add((node, predicate, name))

    @staticmethod
    def _ministrys(dataset_dict: dict[str, Any], org: dict[str, Any]) -> bool:
        """A dataset of the ministry: owned by its organisation, or one the order schedules."""
        return org.get("name") == settings.organization_name() or dataset_dict.get("mes_schedule_item") not in (
            None,
            "",
        )

    def _ministry_contact_and_theme(self, dataset_ref: Any, org: dict[str, Any]) -> None:
        g = self.g
        theme = settings.dcat_theme()
        if theme:
            concept = URIRef(theme)
            g.add((dataset_ref, DCAT.theme, concept))
            g.add((concept, RDF.type, SKOS.Concept))
            code = theme.rsplit("/", 1)[-1]
            g.add((concept, SKOS.prefLabel, Literal(DATA_THEMES.get(code, code), lang="en")))
            if theme.startswith(DATA_THEME_BASE):
                g.add((concept, SKOS.inScheme, URIRef(DATA_THEME_BASE.rstrip("/"))))
        if (dataset_ref, DCAT.contactPoint, None) in g:
            return  # the publisher named a maintainer or author: theirs
        contact = BNode()
        g.add((dataset_ref, DCAT.contactPoint, contact))
        g.add((contact, RDF.type, VCARD.Organization))
        self._names(contact, VCARD.fn, org)
        email = settings.dcat_contact_email()
        if email:
            g.add((contact, VCARD.hasEmail, URIRef(f"mailto:{email}")))
        g.add((contact, VCARD.hasURL, URIRef(self._organization_page(org))))

    @staticmethod
    def _organization_page(org: dict[str, Any]) -> str:
        return tk.config.get("ckan.site_url").rstrip("/") + "/organization/" + org["name"]

    def _distribution_format(self, distribution: Any) -> None:
        """dct:format as an EU file type and dcat:mediaType as an IANA IRI, one each, in place of literals."""
        g = self.g
        formats = [f for f in g.objects(distribution, DCT["format"]) if isinstance(f, Literal)]
        medias = [m for m in g.objects(distribution, DCAT.mediaType) if isinstance(m, Literal)]
        for value in formats:
            g.remove((distribution, DCT["format"], value))
        for value in medias:
            g.remove((distribution, DCAT.mediaType, value))
        media = next(filter(None, map(media_type_iri, medias)), None)
        known = next(filter(None, map(format_iris, formats)), None)
        if known is None and media is not None and str(media)[len(MEDIA_TYPE_BASE):] in _BY_MEDIA_TYPE:
            known = format_iris(_BY_MEDIA_TYPE[str(media)[len(MEDIA_TYPE_BASE):]])
        if known is not None:
            file_type, media = known[0], media or known[1]
            self._set(distribution, DCT["format"], file_type, DCT.MediaTypeOrExtent)
        elif formats:
            # A format outside the table keeps the publisher's word, as the label of a format node.
            node = BNode()
            self._set(distribution, DCT["format"], node, DCT.MediaTypeOrExtent)
            g.add((node, RDFS.label, formats[0]))
        if media is not None:
            self._set(distribution, DCAT.mediaType, media, DCT.MediaType)

    def _set(self, subject: Any, predicate: Any, value: Any, kind: Any) -> None:
        if (subject, predicate, None) not in self.g:
            self.g.add((subject, predicate, value))
            self.g.add((value, RDF.type, kind))

    # -------------------------------------------------------------------------------------------- catalogue
    def graph_from_catalog(self, catalog_dict: dict[str, Any] | None, catalog_ref: Any) -> None:
        g = self.g
        self._bind()
        ministry = _organization(settings.organization_name())
        self._catalog_languages(catalog_ref)
        for homepage in list(g.objects(catalog_ref, FOAF.homepage)):
            g.add((homepage, RDF.type, FOAF.Document))
        if (catalog_ref, DCT.description, None) not in g:
            for text in self._catalog_descriptions(ministry):
                g.add((catalog_ref, DCT.description, text))
        if (catalog_ref, DCT.publisher, None) not in g:
            self._catalog_publisher(catalog_ref, ministry)

    def _catalog_languages(self, catalog_ref: Any) -> None:
        """The portal's languages as EU language IRIs, in place of the default locale's bare code."""
        g = self.g
        for value in list(g.objects(catalog_ref, DCT.language)):
            if isinstance(value, Literal):
                g.remove((catalog_ref, DCT.language, value))
        offered: Iterable[str] = tk.config.get("ckan.locales_offered") or []
        default = tk.config.get("ckan.locale_default") or "en"
        for locale in [default, *offered]:
            code = LANGUAGES.get(str(locale).split("_")[0].lower())
            if code:
                language = URIRef(LANGUAGE_BASE + code)
                g.add((catalog_ref, DCT.language, language))
                g.add((language, RDF.type, DCT.LinguisticSystem))

    @staticmethod
    def _catalog_descriptions(ministry: dict[str, Any] | None) -> list[Literal]:
        """`ckan.site_description` is ckanext-dcat's; without it, the ministry's description in its languages,
        or else the order's title."""
        texts = _tagged(ministry, "description") if ministry else []
        if texts:
            return texts
        try:
            title = settings.order().title
        except Exception:  # a broken order file must not break the RDF endpoint
            return [Literal(tk.config.get("ckan.site_title") or "CKAN")]
        return [
            Literal(f"{vocab.order_label(lang)}: {title[lang]}", lang=lang) for lang in LANGUAGES if title.get(lang)
        ]

    def _catalog_publisher(self, catalog_ref: Any, ministry: dict[str, Any] | None) -> None:
        """The ministry publishes the catalogue: the same agent as its datasets' publisher."""
        g = self.g
        if ministry:
            publisher = URIRef(publisher_uri_organization_fallback({"organization": ministry}))
        else:  # not seeded yet: the portal itself
            publisher = URIRef(tk.config.get("ckan.site_url").rstrip("/") + "/#publisher")
        g.add((catalog_ref, DCT.publisher, publisher))
        g.add((publisher, RDF.type, FOAF.Agent))
        if ministry:
            self._names(publisher, FOAF.name, ministry)
        if (publisher, FOAF.name, None) not in g:
            g.add((publisher, FOAF.name, Literal((ministry or {}).get("title") or tk.config.get("ckan.site_title"))))

    # ---------------------------------------------------------------------------------------------- parsing
    def parse_dataset(self, dataset_dict: dict[str, Any], dataset_ref: Any) -> dict[str, Any]:
        for value in self.g.objects(dataset_ref, DCT.accrualPeriodicity):
            code = vocab.frequency_code(str(value))
            if code:
                dataset_dict["mes_schedule_frequency"] = vocab.frequency_uri(code)
        return dataset_dict

