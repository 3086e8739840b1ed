# A pipeline that costs nothing: wait, then write the size of the reads (or fail for a planted run).
rule all:
    input:
        "results/reads.txt",


rule wait:
    input:
        config["inputs"],
    output:
        "results/reads.txt",
    params:
        seconds=config["params"]["seconds"],
        fail=config["params"]["fail_run"] or "no-run-is-planted",
    shell:
        "sleep {params.seconds}; "
        "case '{input[0]}' in *{params.fail}*) echo 'planted failure' >&2; exit 3;; esac; "
        "wc -c {input} > {output}"
