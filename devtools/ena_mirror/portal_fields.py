"""The ENA Portal API's real field sets, so the mirror accepts and refuses exactly what ENA does.

Where the names come from: ENA's own field listings, ``/ena/portal/api/returnFields?dataPortal=metagenome&result=R``
(fields a response can carry) and ``/ena/portal/api/searchFields?...`` (fields a ``query`` can test), as captured
on 2025-04-28 in the public repository EBI-Metagenomics/emgapi-v2 (``workflows/ena_utils/study.py``, ``sample.py``,
``read_run.py``, ``analysis.py``, commit b9e6c18: enums generated from those endpoints). Only the field names are
taken, in ENA's (alphabetical) order. To refresh them, ask those two endpoints again.

Facts about these sets that clients trip over:

* a ``sample`` record has ``study_accession`` but no ``secondary_study_accession``;
* file fields (``fastq_ftp``, ``fastq_md5``, ``submitted_ftp``, ...) can be returned but not searched;
* ``read_study`` is served with the ``study`` set here (ENA lists it separately; the client uses ``study``).

Defaults, when a request names no ``fields``: ``filereport`` of ``read_run`` answers the run accession and the
three file groups (:data:`FILEREPORT_DEFAULT_FIELDS`, ENA's file-location default); ``search`` answers the
result's accession and ``description`` (:func:`default_fields`).
"""

from __future__ import annotations


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# returnFields -------------------------------------------------------------------------------------

STUDY_RETURN_FIELDS = _names(
    """
    breed broker_name center_name cultivar datahub description first_public geo_accession isolate keywords
    last_updated parent_study_accession project_name scientific_name secondary_study_accession
    secondary_study_alias secondary_study_center_name status strain study_accession study_alias
    study_description study_name study_title submission_tool tag tax_division tax_id tax_lineage
    """
)

SAMPLE_RETURN_FIELDS = _names(
    """
    age altitude assembly_quality assembly_software binning_software bio_material
    broad_scale_environmental_context broker_name cell_line cell_type center_name checklist collected_by
    collection_date collection_date_end collection_date_start completeness_score contamination_score country
    cultivar culture_collection datahub depth description dev_stage disease ecotype elevation environment_biome
    environment_feature environment_material environmental_medium environmental_sample experimental_factor
    first_public germline host host_body_site host_genotype host_gravidity host_growth_conditions host_phenotype
    host_scientific_name host_sex host_status host_tax_id identified_by investigation_type isolate
    isolation_source keywords last_updated lat local_environmental_context location location_end location_start
    lon marine_region mating_type ncbi_reporting_standard ph project_name protocol_label
    related_sample_accession salinity sample_accession sample_alias sample_capture_status sample_collection
    sample_description sample_material sample_title sampling_campaign sampling_platform sampling_site
    scientific_name secondary_sample_accession sequencing_method serotype serovar sex specimen_voucher status
    strain study_accession sub_species sub_strain submission_accession submission_tool submitted_host_sex tag
    target_gene tax_id tax_lineage taxonomic_classification taxonomic_identity_marker temperature tissue_lib
    tissue_type variety
    """
)

READ_RUN_RETURN_FIELDS = _names(
    """
    age aligned altitude assembly_quality assembly_software bam_aspera bam_bytes bam_ftp bam_galaxy bam_md5
    base_count binning_software bio_material bisulfite_protocol broad_scale_environmental_context broker_name
    cage_protocol cell_line cell_type center_name checklist chip_ab_provider chip_protocol chip_target
    collected_by collection_date collection_date_end collection_date_start completeness_score
    contamination_score control_experiment country cultivar culture_collection datahub depth description
    dev_stage disease dnase_protocol ecotype elevation environment_biome environment_feature
    environment_material environmental_medium environmental_sample experiment_accession experiment_alias
    experiment_target experiment_title experimental_factor experimental_protocol extraction_protocol
    faang_library_selection fastq_aspera fastq_bytes fastq_ftp fastq_galaxy fastq_md5 file_location
    first_created first_public germline hi_c_protocol host host_body_site host_genotype host_gravidity
    host_growth_conditions host_phenotype host_scientific_name host_sex host_status host_tax_id identified_by
    instrument_model instrument_platform investigation_type isolate isolation_source last_updated lat
    library_construction_protocol library_gen_protocol library_layout library_max_fragment_size
    library_min_fragment_size library_name library_pcr_isolation_protocol library_prep_date
    library_prep_date_format library_prep_latitude library_prep_location library_prep_longitude
    library_selection library_source library_strategy local_environmental_context location location_end
    location_start lon marine_region mating_type ncbi_reporting_standard nominal_length nominal_sdev
    pcr_isolation_protocol ph project_name protocol_label read_count read_strand restriction_enzyme
    restriction_enzyme_target_sequence restriction_site rna_integrity_num rna_prep_3_protocol
    rna_prep_5_protocol rna_purity_230_ratio rna_purity_280_ratio rt_prep_protocol run_accession run_alias
    run_date salinity sample_accession sample_alias sample_capture_status sample_collection sample_description
    sample_material sample_prep_interval sample_prep_interval_units sample_storage sample_storage_processing
    sample_title sampling_campaign sampling_platform sampling_site scientific_name secondary_project
    secondary_sample_accession secondary_study_accession sequencing_date sequencing_date_format
    sequencing_location sequencing_longitude sequencing_method sequencing_primer_catalog sequencing_primer_lot
    sequencing_primer_provider serotype serovar sex specimen_voucher sra_aspera sra_bytes sra_ftp sra_galaxy
    sra_md5 status strain study_accession study_alias study_title sub_species sub_strain submission_accession
    submission_tool submitted_aspera submitted_bytes submitted_format submitted_ftp submitted_galaxy
    submitted_host_sex submitted_md5 submitted_read_type tag target_gene tax_id tax_lineage
    taxonomic_classification taxonomic_identity_marker temperature tissue_lib tissue_type transposase_protocol
    variety
    """
)

ANALYSIS_RETURN_FIELDS = _names(
    """
    age altitude analysis_accession analysis_alias analysis_code_repository analysis_date analysis_description
    analysis_protocol analysis_title analysis_type assembly_quality assembly_software assembly_type
    binning_software bio_material broad_scale_environmental_context broker_name cell_line cell_type center_name
    checklist collected_by collection_date collection_date_end collection_date_start completeness_score
    contamination_score country cultivar culture_collection datahub depth description dev_stage disease ecotype
    elevation environment_biome environment_feature environment_material environmental_medium
    environmental_sample experiment_accession experimental_factor first_created first_public generated_aspera
    generated_bytes generated_format generated_ftp generated_galaxy generated_md5 germline host host_body_site
    host_genotype host_gravidity host_growth_conditions host_phenotype host_scientific_name host_sex host_status
    host_tax_id identified_by investigation_type isolate isolation_source last_updated lat
    local_environmental_context location location_end location_start lon marine_region mating_type
    ncbi_reporting_standard ph pipeline_name pipeline_version project_name protocol_label pubmed_id
    reference_data_set_name reference_data_set_version reference_genome related_analysis_accession run_accession
    salinity sample_accession sample_alias sample_capture_status sample_collection sample_description
    sample_material sample_title sampling_campaign sampling_platform sampling_site scientific_name
    secondary_project secondary_sample_accession secondary_study_accession sequencing_method serotype serovar
    sex specimen_voucher status strain study_accession study_alias study_title sub_species sub_strain
    submission_accession submission_tool submitted_aspera submitted_bytes submitted_format submitted_ftp
    submitted_galaxy submitted_host_sex submitted_md5 tag target_gene tax_id tax_lineage
    taxonomic_classification taxonomic_identity_marker temperature tissue_lib tissue_type variety
    """
)

# searchFields -------------------------------------------------------------------------------------

STUDY_SEARCH_FIELDS = _names(
    """
    breed broker_name center_name cultivar datahub description first_public geo_accession isolate keywords
    last_updated parent_study_accession project_name scientific_name secondary_study_accession
    secondary_study_alias secondary_study_center_name status strain study_accession study_alias
    study_description study_name study_title submission_tool tag tax_division tax_id
    """
)

SAMPLE_SEARCH_FIELDS = _names(
    """
    age altitude assembly_software binning_software bio_material broad_scale_environmental_context broker_name
    cell_line cell_type center_name checklist collected_by completeness_score contamination_score country
    cultivar culture_collection datahub description dev_stage disease ecotype elevation environment_biome
    environment_feature environment_material environmental_medium environmental_sample experimental_factor
    first_public germline host host_body_site host_genotype host_gravidity host_growth_conditions host_phenotype
    host_scientific_name host_sex host_status host_tax_id identified_by investigation_type isolate
    isolation_source keywords last_updated local_environmental_context location location_end location_start
    marine_region mating_type ncbi_reporting_standard project_name protocol_label related_sample_accession
    salinity sample_accession sample_alias sample_capture_status sample_collection sample_description
    sample_material sample_title sampling_campaign sampling_platform sampling_site scientific_name
    secondary_sample_accession sequencing_method serotype serovar sex specimen_voucher status strain
    study_accession sub_species sub_strain submission_accession submission_tool submitted_host_sex tag
    target_gene tax_id taxonomic_classification taxonomic_identity_marker temperature tissue_lib tissue_type
    variety
    """
)

READ_RUN_SEARCH_FIELDS = _names(
    """
    age altitude assembly_software base_count binning_software bio_material bisulfite_protocol
    broad_scale_environmental_context broker_name cage_protocol cell_line cell_type center_name checklist
    chip_ab_provider chip_protocol chip_target collected_by completeness_score contamination_score
    control_experiment country cultivar culture_collection datahub description dev_stage disease dnase_protocol
    ecotype elevation environment_biome environment_feature environment_material environmental_medium
    environmental_sample experiment_accession experiment_alias experiment_target experiment_title
    experimental_factor experimental_protocol extraction_protocol faang_library_selection first_created
    first_public germline hi_c_protocol host host_body_site host_genotype host_gravidity host_growth_conditions
    host_phenotype host_scientific_name host_sex host_status host_tax_id identified_by instrument_model
    instrument_platform investigation_type isolate isolation_source last_updated library_construction_protocol
    library_gen_protocol library_layout library_max_fragment_size library_min_fragment_size library_name
    library_pcr_isolation_protocol library_prep_date library_prep_date_format library_prep_latitude
    library_prep_location library_prep_longitude library_selection library_source library_strategy
    local_environmental_context location location_end location_start marine_region mating_type
    ncbi_reporting_standard nominal_length nominal_sdev pcr_isolation_protocol project_name protocol_label
    read_count read_strand restriction_enzyme restriction_enzyme_target_sequence restriction_site
    rna_integrity_num rna_prep_3_protocol rna_prep_5_protocol rna_purity_230_ratio rna_purity_280_ratio
    rt_prep_protocol run_accession run_alias salinity sample_accession sample_alias sample_capture_status
    sample_collection sample_description sample_material sample_prep_interval sample_prep_interval_units
    sample_storage sample_storage_processing sample_title sampling_campaign sampling_platform sampling_site
    scientific_name secondary_project secondary_sample_accession secondary_study_accession sequencing_date
    sequencing_date_format sequencing_location sequencing_longitude sequencing_method sequencing_primer_catalog
    sequencing_primer_lot sequencing_primer_provider serotype serovar sex specimen_voucher status strain
    study_accession study_alias study_title sub_species sub_strain submission_accession submission_tool
    submitted_format submitted_host_sex submitted_md5 submitted_read_type tag target_gene tax_id
    taxonomic_classification taxonomic_identity_marker temperature tissue_lib tissue_type transposase_protocol
    variety
    """
)

ANALYSIS_SEARCH_FIELDS = _names(
    """
    age altitude analysis_accession analysis_alias analysis_code_repository analysis_date analysis_description
    analysis_protocol analysis_title analysis_type assembly_software assembly_type binning_software bio_material
    broad_scale_environmental_context broker_name cell_line cell_type center_name checklist collected_by
    completeness_score contamination_score country cultivar culture_collection datahub description dev_stage
    disease ecotype elevation environment_biome environment_feature environment_material environmental_medium
    environmental_sample experiment_accession experimental_factor first_created first_public germline host
    host_body_site host_genotype host_gravidity host_growth_conditions host_phenotype host_scientific_name
    host_sex host_status host_tax_id identified_by investigation_type isolate isolation_source last_updated
    local_environmental_context location location_end location_start marine_region mating_type
    ncbi_reporting_standard pipeline_name pipeline_version project_name protocol_label pubmed_id
    reference_data_set_name reference_data_set_version reference_genome related_analysis_accession run_accession
    salinity sample_accession sample_alias sample_capture_status sample_collection sample_description
    sample_material sample_title sampling_campaign sampling_platform sampling_site scientific_name
    secondary_project secondary_sample_accession secondary_study_accession sequencing_method serotype serovar
    sex specimen_voucher status strain study_accession study_alias study_title sub_species sub_strain
    submission_accession submission_tool submitted_format submitted_host_sex submitted_md5 tag target_gene
    tax_id taxonomic_classification taxonomic_identity_marker temperature tissue_lib tissue_type variety
    """
)

#: Result -> the fields ENA can return for it (``returnFields``).
RETURN_FIELDS: dict[str, frozenset[str]] = {
    "study": frozenset(STUDY_RETURN_FIELDS),
    "read_study": frozenset(STUDY_RETURN_FIELDS),
    "sample": frozenset(SAMPLE_RETURN_FIELDS),
    "read_run": frozenset(READ_RUN_RETURN_FIELDS),
    "analysis": frozenset(ANALYSIS_RETURN_FIELDS),
}
#: Result -> the fields a ``query`` may test (``searchFields``).
SEARCH_FIELDS: dict[str, frozenset[str]] = {
    "study": frozenset(STUDY_SEARCH_FIELDS),
    "read_study": frozenset(STUDY_SEARCH_FIELDS),
    "sample": frozenset(SAMPLE_SEARCH_FIELDS),
    "read_run": frozenset(READ_RUN_SEARCH_FIELDS),
    "analysis": frozenset(ANALYSIS_SEARCH_FIELDS),
}
#: Result -> its accession field, which ENA always returns first.
PRIMARY_FIELD: dict[str, str] = {
    "study": "study_accession",
    "read_study": "study_accession",
    "sample": "sample_accession",
    "read_run": "run_accession",
    "analysis": "analysis_accession",
}
#: Result -> its secondary accession field (INSDC accession), if it has one.
SECONDARY_FIELD: dict[str, str] = {
    "study": "secondary_study_accession",
    "read_study": "secondary_study_accession",
    "sample": "secondary_sample_accession",
}
#: What ``filereport`` answers without ``fields``: the accession, then FASTQ, submitted and SRA files.
FILEREPORT_DEFAULT_FIELDS: dict[str, tuple[str, ...]] = {
    "read_run": (
        "run_accession",
        "fastq_ftp",
        "fastq_bytes",
        "fastq_md5",
        "submitted_ftp",
        "submitted_bytes",
        "submitted_md5",
        "sra_ftp",
        "sra_bytes",
        "sra_md5",
    ),
    # Not confirmed from ENA's documentation: by analogy with read_run, the submitted and generated files.
    "analysis": (
        "analysis_accession",
        "submitted_ftp",
        "submitted_bytes",
        "submitted_md5",
        "generated_ftp",
        "generated_bytes",
        "generated_md5",
    ),
}


def default_fields(endpoint: str, result: str) -> tuple[str, ...]:
    """The fields ENA answers when a request names none.

    :param endpoint: ``search`` or ``filereport``
    :param result: a result of :data:`RETURN_FIELDS`
    """
    if endpoint == "filereport" and result in FILEREPORT_DEFAULT_FIELDS:
        return FILEREPORT_DEFAULT_FIELDS[result]
    return (PRIMARY_FIELD[result], "description")
