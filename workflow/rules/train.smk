rule train_model:
    input:
        unpack(get_train_inputs),
    output:
        "results/models/{target}/{model}/seed{seed}/model.h5",
    log:
        "logs/models/{target}/{model}/seed{seed}.log",
    benchmark:
        "benchmarks/workflow/train_model/{target}/{model}/seed{seed}.tsv"
    conda:
        "../envs/qgenflow.yaml"
    threads: 1
    resources:
        mem_mb=get_train_mem_mb,
        runtime=get_train_runtime,
        gpu=get_train_gpu,
    params:
        code=get_code("train"),
        expect=get_expected_inputs,
        spec=get_model_params,
    script:
        "../scripts/train_model.py"
