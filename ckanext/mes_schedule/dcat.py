"""A ckanext-dcat RDF profile: the order's frequency as dct:accrualPeriodicity, the legal basis as
dcatap:applicableLegislation, and the titles in Kazakh, Russian and English.

Enable it after a DCAT-AP profile, e.g. `ckanext.dcat.rdf.profiles = euro_dcat_ap_3 mes_schedule`.
Only imported when ckanext-dcat is installed (entry point `ckan.rdf.profiles`).
"""
from __future__ import annotations

from typing import Any

from rdflib import Literal, URIRef
from rdflib.namespace import RDF

from ckanext.dcat.profiles.base import DCATAP, DCT, RDFProfile
from ckanext.mes_schedule import vocab

__all__ = ["MesScheduleDCATProfile"]

# The portal's primary language is Kazakh; CKAN's `title`/`notes` hold the Kazakh text.
_LANG_FIELDS = (("title", DCT.title), ("notes", DCT.description))


class MesScheduleDCATProfile(RDFProfile):
    def graph_from_dataset(self, dataset_dict: dict[str, Any], dataset_ref: Any) -> None:
        g = self.g
        code = vocab.frequency_code(dataset_dict.get("mes_schedule_frequency"))
        if code:
            frequency = URIRef(vocab.frequency_uri(code))
            # One periodicity only: the legal one replaces whatever a generic `frequency` field produced.
            g.remove((dataset_ref, DCT.accrualPeriodicity, None))
            g.add((dataset_ref, DCT.accrualPeriodicity, frequency))
            g.add((frequency, RDF.type, DCT.Frequency))
        if dataset_dict.get("mes_schedule_item") not in (None, ""):
            url = self._order_url()
            if url:
                g.add((dataset_ref, DCATAP.applicableLegislation, URIRef(url)))
        for field, predicate in _LANG_FIELDS:
            if dataset_dict.get(field):
                # Tag the original with its language, and add the translations beside it.
                g.remove((dataset_ref, predicate, Literal(dataset_dict[field])))
                g.add((dataset_ref, predicate, Literal(dataset_dict[field], lang="kk")))
            for lang in ("ru", "en"):
                value = dataset_dict.get(f"{field}_{lang}")
                if value:
                    g.add((dataset_ref, predicate, Literal(value, lang=lang)))

    def parse_dataset(self, dataset_dict: dict[str, Any], dataset_ref: Any) -> dict[str, Any]:
        for value in self.g.objects(dataset_ref, DCT.accrualPeriodicity):
            code = vocab.frequency_code(str(value))
            if code:
                dataset_dict["mes_schedule_frequency"] = vocab.frequency_uri(code)
        return dataset_dict

    @staticmethod
    def _order_url() -> str | None:
        from ckanext.mes_schedule import settings

        try:
            return settings.order().url
        except Exception:  # a broken order file must not break the RDF endpoint
            return None
