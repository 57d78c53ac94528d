"""With ckanext-dcat, the order's frequency is published as dct:accrualPeriodicity with its EU URI."""
from __future__ import annotations

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import Namespace

import ckan.tests.factories as factories

from tests.fixtures import legal

DCT = Namespace("http://purl.org/dc/terms/")
DCATAP = Namespace("http://data.europa.eu/r5r/")
QUARTERLY = "http://publications.europa.eu/resource/authority/frequency/QUARTERLY"


@pytest.mark.ckan_config("ckan.plugins", "mes_schedule scheming_datasets scheming_organizations activity dcat")
@pytest.mark.ckan_config("ckanext.dcat.rdf.profiles", "euro_dcat_ap_3 mes_schedule")
@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
def test_frequency_is_dct_accrual_periodicity_in_the_dataset_rdf(app):
    org = factories.Organization()
    dataset = factories.Dataset(
        owner_org=org["id"],
        title="Мектеп мұғалімдері туралы статистикалық деректер",
        title_ru="Статистические данные об учителях школ",
        title_en="Statistics on school teachers",
        **legal(11, "quarterly day=10", QUARTERLY),
    )
    body = app.get(f"/dataset/{dataset['name']}.ttl").body
    graph = Graph().parse(data=body, format="turtle")
    (subject,) = set(graph.subjects(DCT.accrualPeriodicity, None))
    assert list(graph.objects(subject, DCT.accrualPeriodicity)) == [URIRef(QUARTERLY)]
    assert list(graph.objects(subject, DCATAP.applicableLegislation)) == [
        URIRef("https://adilet.zan.kz/kaz/docs/V1600013381")
    ]
    titles = {(str(t), t.language) for t in graph.objects(subject, DCT.title)}
    assert ("Statistics on school teachers", "en") in titles
    assert ("Статистические данные об учителях школ", "ru") in titles
    assert ("Мектеп мұғалімдері туралы статистикалық деректер", "kk") in titles
