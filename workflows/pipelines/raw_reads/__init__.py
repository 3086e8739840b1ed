"""The bundled raw-reads pipeline (Snakemake): fastp, megahit, prodigal, hmmer, seqkit."""

from workflows.pipelines.raw_reads.pipeline import ProdigalMode, RawReadsParameters, RawReadsPipeline

__all__ = ["ProdigalMode", "RawReadsParameters", "RawReadsPipeline"]
