rule evaluate_model:
    input:
        target="results/targets/{target}/seed{seed}/target.h5",
        model="results/models/{target}/{model}/seed{seed}/model.h5",
    output:
        "results/eval/{target}/{model}/seed{seed}/metrics.h5",
    log:
        "logs/eval/{target}/{model}/seed{seed}.log",
    conda:
        "../envs/qgenflow.yaml"
    threads: 1
    resources:
        mem_mb=get_eval_mem_mb,
        runtime=20,
    params:
        code=get_code("evaluate"),
        expect=get_expected_inputs,
        spec=get_evaluation_params,
    script:
        "../scripts/evaluate_model.py"


rule evaluate_reference:
    input:
        target="results/targets/{target}/seed{seed}/target.h5",
    output:
        "results/eval/{target}/_{reference}/seed{seed}/metrics.h5",
    log:
        "logs/eval/{target}/_{reference}/seed{seed}.log",
    conda:
        "../envs/qgenflow.yaml"
    threads: 1
    resources:
        mem_mb=get_eval_mem_mb,
        runtime=20,
    params:
        code=get_code("evaluate"),
        expect=get_expected_inputs,
        spec=get_evaluation_params,
    script:
        "../scripts/evaluate_reference.py"


rule make_table:
    input:
        metrics=get_metrics_files,
    output:
        table="results/tables/{target}.csv",
        verdict="results/tables/{target}_verdict.txt",
    log:
        "logs/tables/{target}.log",
    conda:
        "../envs/qgenflow.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        code=get_code("evaluate"),
        expect=get_expected_inputs,
        spec=get_table_params,
    script:
        "../scripts/make_table.py"


# results/tables/X_audit.csv also matches make_table's pattern (target X_audit): the audit
# makes it.
ruleorder: audit_target > make_table


# The report shows an HTML page in place (a CSV or text file only as a download), so each
# target's tables, verdict and decision rule reach the report as one page.
rule table_page:
    input:
        unpack(get_table_page_inputs),
    output:
        report(
            "results/tables/{target}.html",
            caption="../report/tables.rst",
            category="{target}",
            subcategory="Tables",
            labels={"target": "{target}", "table": "metrics, verdict and audit"},
        ),
    log:
        "logs/tables/{target}_page.log",
    conda:
        "../envs/qgenflow.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        code=get_code("page"),
    script:
        "../scripts/table_page.py"


rule audit_target:
    input:
        unpack(get_audit_inputs),
    output:
        audit="results/audit/{target}/audit.h5",
        table="results/tables/{target}_audit.csv",
        rule="results/tables/{target}_decision.txt",
    log:
        "logs/audit/{target}.log",
    conda:
        "../envs/qgenflow.yaml"
    threads: 1
    resources:
        mem_mb=get_eval_mem_mb,
        runtime=20,
    params:
        code=get_code("audit"),
        expect=get_expected_inputs,
        audit=get_audit_params,
    script:
        "../scripts/audit_target.py"


rule diagnose_trainability:
    input:
        target=get_first_seed_target,
    output:
        "results/trainability/{target}/trainability.h5",
    log:
        "logs/trainability/{target}.log",
    conda:
        "../envs/qgenflow.yaml"
    threads: 1
    resources:
        mem_mb=get_eval_mem_mb,
        runtime=60,
    params:
        code=get_code("trainability"),
        expect=get_expected_inputs,
        spec=get_trainability_params,
        seed=get_first_seed,
    script:
        "../scripts/diagnose_trainability.py"
