#include <stdlib.h>
#include <strings.h>

#include "fantasia/models.h"

static const fc_fantasia_model MODELS[] = {
    {"ESM", 1, "facebook/esm2_t33_650M_UR50D", "facebook/esm2_t33_650M_UR50D"},
    {"Prost-T5", 2, "Rostlab/ProstT5", "Rostlab/ProstT5"},
    {"Prot-T5", 3, "Rostlab/prot_t5_xl_uniref50", "Rostlab/prot_t5_xl_uniref50"},
    {"Ankh3-Large", 4, "ElnaggarLab/ankh3-large", "ElnaggarLab/ankh3-large"},
    {"ESM3c", 5, "esmc_600m", "EvolutionaryScale/esmc-600m-2024-12"}};

const fc_fantasia_model *fc_fantasia_model_find(const char *name_or_id) {
  if (!name_or_id || !*name_or_id) return NULL;
  char *end;
  long long num = strtoll(name_or_id, &end, 10);
  int numeric = !*end;
  for (size_t i = 0; i < sizeof MODELS / sizeof MODELS[0]; i++)
    if (!strcasecmp(name_or_id, MODELS[i].name) || (numeric && num == MODELS[i].type_id)) return &MODELS[i];
  return NULL;
}
