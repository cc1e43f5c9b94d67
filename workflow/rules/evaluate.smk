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
        table=report(
            "results/tables/{target}.csv",
            caption="../report/table.rst",
            category="{target}",
            subcategory="Tables",
            labels={"target": "{target}", "table": "metrics"},
        ),
        verdict=report(
            "results/tables/{target}_verdict.txt",
            caption="../report/verdict.rst",
            category="{target}",
            subcategory="Tables",
            labels={"target": "{target}", "table": "verdict"},
        ),
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


rule audit_target:
    input:
        unpack(get_audit_inputs),
    output:
        audit="results/audit/{target}/audit.h5",
        table=report(
            "results/tables/{target}_audit.csv",
            caption="../report/audit_table.rst",
            category="{target}",
            subcategory="Tables",
            labels={"target": "{target}", "table": "audit"},
        ),
        rule=report(
            "results/tables/{target}_decision.txt",
            caption="../report/decision.rst",
            category="{target}",
            subcategory="Tables",
            labels={"target": "{target}", "table": "decision rule"},
        ),
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
        "../../environment.yml"
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
