// raw-reads-nf: the bundled raw-reads pipeline for Nextflow (DSL2), same tools and the same
// published layout under params.outdir as the Snakemake version, so the same parsers read it.
// Run by workflows.pipelines.launchers.NextflowLauncher with a generated Slurm config.
nextflow.enable.dsl = 2

params.input = []
params.outdir = 'results'
params.min_read_length = 50
params.qualified_quality_phred = 15
params.min_contig_length = 200
params.megahit_k_list = '21,29,39,59,79'
params.prodigal_mode = 'meta'
params.translation_table = 11
params.pfam_evalue = 1e-5
params.pfam_domain_evalue = 1e-5
params.rrna_evalue = 1e-6
params.rrna_length_cutoff = 0.8
params.rrna_reject = 0.25
// the Snakemake version's Pfam models and rRNA de-overlap script, shared by path
params.pfam_models = "${projectDir}/../raw_reads/models/pfam/*.hmm"
params.rrna_deoverlap = "${projectDir}/../raw_reads/rrna_deoverlap.py"
params.python = 'python3'

process FASTP {
    tag "${reads[0].simpleName}"
    cpus 2
    memory '2500 MB'
    publishDir "${params.outdir}/qc", mode: 'copy'

    input:
    path reads

    output:
    path '*.trimmed.fastq.gz', emit: reads
    path 'fastp.json', emit: json
    path 'fastp.html'

    script:
    def io = reads.size() == 2
        ? "-i ${reads[0]} -I ${reads[1]} -o reads_1.trimmed.fastq.gz -O reads_2.trimmed.fastq.gz"
        : "-i ${reads[0]} -o reads.trimmed.fastq.gz"
    """
    fastp ${io} --json fastp.json --html fastp.html --thread ${task.cpus} \
        --length_required ${params.min_read_length} --qualified_quality_phred ${params.qualified_quality_phred}
    """
}

process MEGAHIT {
    tag "${reads[0].simpleName}"
    cpus 2
    memory '4000 MB'
    publishDir "${params.outdir}/assembly", mode: 'copy'

    input:
    path reads

    output:
    path 'contigs.fasta'

    script:
    def io = reads.size() == 2 ? "-1 ${reads[0]} -2 ${reads[1]}" : "-r ${reads[0]}"
    """
    megahit ${io} -o megahit_out -t ${task.cpus} --min-contig-len ${params.min_contig_length} \
        --k-list ${params.megahit_k_list}
    cp megahit_out/final.contigs.fa contigs.fasta
    """
}

process PRODIGAL {
    memory '1000 MB'
    publishDir "${params.outdir}/genes", mode: 'copy'

    input:
    path contigs

    output:
    path 'proteins.faa', emit: proteins
    path 'genes.fna', emit: genes
    path 'genes.gff'

    script:
    """
    prodigal -i ${contigs} -a proteins.faa -d genes.fna -o genes.gff -f gff \
        -p ${params.prodigal_mode} -g ${params.translation_table}
    """
}

process PFAM {
    cpus 2
    memory '1000 MB'
    publishDir "${params.outdir}/pfam", mode: 'copy'

    input:
    path models
    path proteins

    output:
    path 'domains.domtblout', emit: domains
    path 'proteins.tblout'
    path 'models.hmm'

    script:
    // models with gathering cut-offs (GA lines) with --cut_ga, as Pfam assigns domains; others with E-values
    """
    : > domains.domtblout; : > proteins.tblout; : > models.hmm
    for model in ${models}; do
        if grep -q '^GA ' "\$model"; then cutoffs='--cut_ga'
        else cutoffs='-E ${params.pfam_evalue} --domE ${params.pfam_domain_evalue}'; fi
        hmmsearch --cpu ${task.cpus} \$cutoffs --domtblout one.domtbl --tblout one.tbl -o /dev/null "\$model" ${proteins}
        cat one.domtbl >> domains.domtblout; cat one.tbl >> proteins.tblout; cat "\$model" >> models.hmm
    done
    """
}

process RRNA {
    cpus 2
    memory '1000 MB'
    publishDir "${params.outdir}/rrna", mode: 'copy'

    input:
    path contigs
    path deoverlap

    output:
    path 'rrna.gff', emit: gff
    path 'barrnap.*.gff'

    script:
    // barrnap with every kingdom's models, then the best kingdom kept where genes overlap; barrnap 0.9
    // fails when a line nhmmer prints (its directory, its target) matches /fail|error/i, so it runs in /
    // on its standard input
    """
    for kingdom in bac arc euk mito; do
        ( cd / && TMPDIR=/tmp barrnap --kingdom \$kingdom --threads ${task.cpus} --evalue ${params.rrna_evalue} \
            --lencutoff ${params.rrna_length_cutoff} --reject ${params.rrna_reject} - ) < ${contigs} > barrnap.\$kingdom.gff
    done
    ${params.python} ${deoverlap} rrna.gff barrnap.bac.gff barrnap.arc.gff barrnap.euk.gff barrnap.mito.gff
    """
}

process SEQKIT_STATS {
    cpus 2
    memory '1000 MB'
    publishDir "${params.outdir}/stats", mode: 'copy'

    input:
    path files

    output:
    path 'seqkit_stats.tsv'

    script:
    """
    seqkit stats -T -a -j ${task.cpus} ${files} > seqkit_stats.tsv
    """
}

process TOOL_VERSIONS {
    memory '500 MB'
    publishDir "${params.outdir}/versions", mode: 'copy'

    output:
    path 'tool_versions.txt'

    script:
    """
    ( echo '## fastp'; fastp --version 2>&1
      echo '## megahit'; megahit --version 2>&1
      echo '## prodigal'; prodigal -v 2>&1
      echo '## seqkit'; seqkit version 2>&1
      echo '## hmmsearch'; hmmsearch -h 2>&1 | head -n 2
      echo '## barrnap'; barrnap --version 2>&1 ) > tool_versions.txt
    """
}

workflow {
    reads = Channel.of(params.input.collect { file(it, checkIfExists: true) })
    FASTP(reads)
    MEGAHIT(FASTP.out.reads)
    PRODIGAL(MEGAHIT.out)
    PFAM(Channel.fromPath(params.pfam_models).collect(), PRODIGAL.out.proteins)
    RRNA(MEGAHIT.out, file(params.rrna_deoverlap, checkIfExists: true))
    SEQKIT_STATS(FASTP.out.reads.mix(MEGAHIT.out, PRODIGAL.out.genes, PRODIGAL.out.proteins).collect())
    TOOL_VERSIONS()
}
